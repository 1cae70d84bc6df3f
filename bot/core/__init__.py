"""The bottom layer: settings, clock, store, the campaign model and the domain services."""
