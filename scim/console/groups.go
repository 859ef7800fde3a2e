package console

// groupRoutes are the Groups pages.
func (h *Handler) groupRoutes() {}
