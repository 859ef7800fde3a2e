package scim

import (
	"net/http"
)

// resendInvitation serves POST /Users/{id}/resendInvitation, scimd's one
// route outside RFC 7644, for administrators (owner and collaborator tokens;
// readers get 403): it emails the customer a new link to choose their
// password, and the link sent before stops working. The body is ignored.
// For an account without a usable password (waiting for an invitation or a
// registration's confirmation, or created without any password) it is an
// invitation; for an account with a password, a password reset that changes
// nothing until the customer uses the link (resources.Users.ResendInvitation).
//
// Answers:
//   - 200 with the User resource: accountState "pendingInvitation" for an
//     invitation, unchanged for a reset;
//   - 404 when there is no such user;
//   - 409 only when other requests kept changing the user meanwhile;
//   - 503 when the email could not be sent: an invited account is then
//     "invitationNotDelivered", a reset one unchanged, and the server logged
//     why.
func (h *Handler) resendInvitation(w http.ResponseWriter, r *http.Request) error {
	res, err := h.users.ResendInvitation(r.Context(), principal(r.Context()).Org, r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.userEndpoint().respond(w, r, http.StatusOK, res, nil)
}
