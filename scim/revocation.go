package scim

// ForgetAllTokens empties this handler's token cache, so that every token is
// checked against the store again: for when revocations may have been missed
// (the store's events were lost for a while; see backend.Store.WatchEvents).
// It costs each token in use one store lookup.
func (h *Handler) ForgetAllTokens() {
	h.auth.mu.Lock()
	defer h.auth.mu.Unlock()
	clear(h.auth.cache)
}
