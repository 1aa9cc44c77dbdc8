-- Incident events by service and time. Incidents are a small share of the
-- events, and DORA reads a service's incidents on every request: without this
-- index that read went through every event of the service or of the incident
-- kinds (~340 ms at 10,000,000 events, for a service that had no incident).
CREATE INDEX events_incidents ON events (service, time_ms)
    WHERE kind IN ('incident_opened', 'incident_resolved');
