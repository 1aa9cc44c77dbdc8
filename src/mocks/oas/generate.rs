//! Values generated from a JSON Schema (being written).
