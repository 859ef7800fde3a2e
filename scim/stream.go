package scim

import (
	"net/http"

	"github.com/scimd/scimd/resources"
)

// streamMembers answers with a group: head, its document rendered without
// members, then its members, written batch by batch as the store reads them,
// so that the response's memory does not grow with the group's size (a
// group of 100,000 members is about 18 MB of JSON). Members are in no
// particular order (RFC 7643 §2.4: multi-valued attributes are unordered).
// A store failure before the first batch is returned, to be answered as an
// error; after it, the response is cut short (the connection dropped), never
// completed as if whole.
func (e endpoint) streamMembers(w http.ResponseWriter, r *http.Request, status int, head []byte, id string, a resources.RefAttrs) error {
	head = head[:len(head)-1] // the closing brace: members go before it
	started := false
	start := func() {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		started = true
	}
	var buf []byte
	err := e.members(r.Context(), principal(r.Context()).Org, id, func(batch []resources.Ref) error {
		if !started {
			start()
			buf = append(append(buf, head...), `,"members":[`...)
		} else {
			buf = append(buf, ',')
		}
		for i, m := range batch {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = resources.AppendMember(buf, m, e.h.cfg.BaseURL, a)
		}
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	})
	switch {
	case err != nil && !started:
		return err
	case err != nil:
		if r.Context().Err() == nil {
			e.h.log.ErrorContext(r.Context(), "group members stream failed", "resource_id", id, "err", err)
		}
		panic(http.ErrAbortHandler)
	case !started: // no members
		start()
		_, _ = w.Write(append(head, '}'))
	default:
		_, _ = w.Write([]byte("]}"))
	}
	return nil
}
