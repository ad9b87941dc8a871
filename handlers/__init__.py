"""Feature packages, one per feature; `handlers.features.FEATURES` lists them for the app."""
