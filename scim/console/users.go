package console

// userRoutes are the Manage > Users pages.
func (h *Handler) userRoutes() {}
