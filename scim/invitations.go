package scim

import (
	"net/http"
)

// resendInvitation serves POST /Users/{id}/resendInvitation, scimd's one
// route outside RFC 7644, for administrators (owner and collaborator tokens;
// readers get 403): it emails the customer a new invitation link, and the
// link sent before stops working. The body is ignored.
//
// Answers:
//   - 200 with the User resource, its accountState "pendingInvitation";
//   - 404 when there is no such user;
//   - 409 when the account is not waiting for an invitation (accountState
//     other than "pendingInvitation" or "invitationNotDelivered");
//   - 503 when the email could not be sent: the account is then
//     "invitationNotDelivered" and the server logged why.
func (h *Handler) resendInvitation(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeStatus(w, http.StatusMethodNotAllowed, "", r.Method+" is not allowed on "+r.URL.Path+": POST to send a new invitation")
		return
	}
	e := h.userEndpoint()
	res, err := h.users.ResendInvitation(r.Context(), principal(r.Context()).Org, r.PathValue("id"))
	if err != nil {
		e.fail(w, r, err)
		return
	}
	e.respond(w, r, http.StatusOK, res)
}
