-- json-server's next id is one more than the largest numeric id: read from
-- this index instead of every document of the collection.
CREATE INDEX resource_documents_numeric_id ON resource_documents (collection, numeric_id);
