package console

// settingsRoutes are the owners' Settings pages.
func (h *Handler) settingsRoutes() {}
