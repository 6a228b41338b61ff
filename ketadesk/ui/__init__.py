"""Every Qt widget lives here; the UI depends on core, never the other way round."""
