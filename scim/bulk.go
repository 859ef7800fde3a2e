package scim

import "net/http"

// bulk serves POST /Bulk (RFC 7644 §3.7).
func (h *Handler) bulk(w http.ResponseWriter, r *http.Request) {
	writeStatus(w, http.StatusNotImplemented, "", "/Bulk is not implemented yet")
}
