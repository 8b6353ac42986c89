"""Model training: objectives, validation schemes and trainers (heavy libraries load lazily)."""
