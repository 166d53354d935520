"""The data model, the engine set-up per database and the migrations."""
