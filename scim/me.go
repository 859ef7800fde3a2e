package scim

import "net/http"

// me serves /Me (RFC 7644 §3.11) for a customer authenticated as themselves.
func (h *Handler) me(w http.ResponseWriter, r *http.Request) {
	writeStatus(w, http.StatusNotImplemented, "", "/Me is not implemented yet")
}
