package scim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// Bulk message URNs (RFC 7644 §3.7).
const (
	bulkRequestURN  = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	bulkResponseURN = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
)

// bulkRefPrefix marks a reference to the resource a POST of the same request
// creates (RFC 7644 §3.7.2).
const bulkRefPrefix = "bulkId:"

// bulk serves POST /Bulk (RFC 7644 §3.7).
//
// Each operation is dispatched as an internal request through the same mux,
// with the caller's Authorization header and context, so that it passes the
// very rules of a direct request: authentication, roles, tenancy, validation,
// If-Match. Each operation is atomic on its own, as every single write is; the
// bulk request as a whole is not (RFC 7644 does not ask it to be): operations
// that succeeded before a later one failed stay done.
//
// Operations run in request order, except that an operation that
// references a later POST's bulkId waits for it (and later operations on
// the resources it writes wait behind it), so forward references work
// (planBulk). The response lists the operations that ran, in
// request order. A reader token is refused as a whole (403) by requireAuth:
// every bulk operation writes.
func (h *Handler) bulk(w http.ResponseWriter, r *http.Request) error {
	// RFC 7644 §3.7.4: the payload limit is enforced while reading.
	data, err := readBody(w, r, h.cfg.MaxBulkPayload)
	if resources.ErrorCode(err) == resources.TooLarge {
		err = resources.Errorf(resources.TooLarge, "the bulk request exceeds maxPayloadSize (%d bytes)", h.cfg.MaxBulkPayload)
	}
	if err != nil {
		return err
	}
	users, err := h.userEndpoint().forOrg(r)
	if err != nil {
		return err
	}
	req, err := decodeBulk(data, h.cfg.MaxBulkOperations, &users.rt)
	if err != nil {
		return err
	}
	// One request, one filter budget: its PATCH operations share the
	// budget one PATCH has.
	r = r.WithContext(resources.WithFilterBudget(r.Context(), resources.MaxFilterWork))
	results := h.runBulk(r, req)
	h.log.DebugContext(r.Context(), "bulk request", "org", principal(r.Context()).Org,
		"operations", len(req.ops), "ran", len(results))
	writeJSON(w, http.StatusOK, bulkResponse{Schemas: []string{bulkResponseURN}, Operations: results})
	return nil
}

// bulkRequest is a decoded BulkRequest.
type bulkRequest struct {
	// failOnErrors is the number of errors after which processing stops; 0
	// means never (RFC 7644 §3.7.3).
	failOnErrors int
	ops          []bulkOp
}

// bulkOp is one operation of a BulkRequest.
type bulkOp struct {
	method   string // upper case
	bulkID   string
	version  string
	endpoint string // "Users" or "Groups"; empty when err is set
	id       string // resource id from the path, perhaps a bulkId reference
	data     any    // the data member as decoded (numbers as json.Number); nil if absent
	refs     []string
	// secret tells the attributes whose values are never references (see
	// replaceRefs): a user's secrets.
	secret bulkSecrets
	// err, when set, fails the operation without running it.
	err error
}

// bulkResponse is a BulkResponse (RFC 7644 §3.7.3).
type bulkResponse struct {
	Schemas    []string     `json:"schemas"`
	Operations []bulkResult `json:"Operations"`
}

// bulkResult reports one operation. Status is a string, as in the RFC's
// examples; Response carries the error body of a failed operation.
type bulkResult struct {
	Method   string          `json:"method"`
	BulkID   string          `json:"bulkId,omitempty"`
	Version  string          `json:"version,omitempty"`
	Location string          `json:"location,omitempty"`
	Status   string          `json:"status"`
	Response json.RawMessage `json:"response,omitempty"`
}

// decodeBulk parses a BulkRequest. A malformed request as a whole is an
// invalidSyntax (or, for a duplicate bulkId, invalidValue) error, one over
// maxOps operations TooLarge; an operation
// that is well-formed JSON but names an unsupported method or path gets its own
// error in bulkOp.err, so that the other operations still run.
func decodeBulk(data []byte, maxOps int, users *schemas.ResourceType) (bulkRequest, error) {
	var top map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // pass numbers on to the operations as they were sent
	if err := dec.Decode(&top); err != nil || top == nil {
		msg := "the request body must be a BulkRequest JSON object"
		if err != nil {
			msg += ": " + schemas.JSONProblem(err)
		}
		return bulkRequest{}, resources.Errorf(resources.InvalidSyntax, "%s", msg)
	}
	if dec.More() {
		return bulkRequest{}, resources.Errorf(resources.InvalidSyntax, "the request body must hold exactly one JSON object")
	}
	if !bulkHasSchema(bulkMember(top, "schemas"), bulkRequestURN) {
		return bulkRequest{}, resources.Errorf(resources.InvalidSyntax, "schemas must list %q", bulkRequestURN)
	}
	var req bulkRequest
	if v, ok := top[bulkKey(top, "failOnErrors")]; ok && v != nil {
		n, err := bulkInt(v)
		if err != nil {
			return bulkRequest{}, resources.Errorf(resources.InvalidSyntax, "failOnErrors must be an integer, got %s", bulkJSONText(v))
		}
		if n < 0 {
			return bulkRequest{}, resources.Errorf(resources.InvalidValue, "failOnErrors must not be negative, got %d", n)
		}
		// Zero errors accepted and one error accepted both stop at the first
		// error: "the number of errors ... before the operation is terminated".
		req.failOnErrors = max(n, 1)
	}
	rawOps, ok := bulkMember(top, "Operations").([]any)
	if !ok {
		return bulkRequest{}, resources.Errorf(resources.InvalidSyntax, "Operations must be an array of operations")
	}
	if len(rawOps) > maxOps {
		// RFC 7644 §3.7.4: 413 beyond maxOperations.
		return bulkRequest{}, resources.Errorf(resources.TooLarge, "the bulk request has %d operations; maxOperations is %d", len(rawOps), maxOps)
	}
	req.ops = make([]bulkOp, len(rawOps))
	seen := make(map[string]int, len(rawOps))
	for i, raw := range rawOps {
		o, err := decodeOp(i, raw, users)
		if err != nil {
			return bulkRequest{}, err
		}
		if o.bulkID != "" {
			if j, dup := seen[o.bulkID]; dup {
				return bulkRequest{}, resources.Errorf(resources.InvalidValue, "Operations[%d] and Operations[%d] have the same bulkId %q; a bulkId must be unique within a request", j, i, o.bulkID)
			}
			seen[o.bulkID] = i
		}
		req.ops[i] = o
	}
	return req, nil
}

// decodeOp parses Operations[i]; users is the organization's User type,
// whose secrets are never references.
func decodeOp(i int, raw any, users *schemas.ResourceType) (bulkOp, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return bulkOp{}, resources.Errorf(resources.InvalidSyntax, "Operations[%d] must be an object", i)
	}
	str := func(name string, required bool) (string, error) {
		v, ok := m[bulkKey(m, name)]
		if !ok || v == nil {
			if required {
				return "", resources.Errorf(resources.InvalidSyntax, "Operations[%d].%s is required", i, name)
			}
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", resources.Errorf(resources.InvalidSyntax, "Operations[%d].%s must be a string, got %s", i, name, bulkJSONText(v))
		}
		return s, nil
	}
	var o bulkOp
	var err error
	if o.method, err = str("method", true); err != nil {
		return bulkOp{}, err
	}
	o.method = strings.ToUpper(strings.TrimSpace(o.method))
	path, err := str("path", true)
	if err != nil {
		return bulkOp{}, err
	}
	if o.bulkID, err = str("bulkId", false); err != nil {
		return bulkOp{}, err
	}
	if v, ok := m[bulkKey(m, "bulkId")]; ok && v != nil && o.bulkID == "" {
		return bulkOp{}, resources.Errorf(resources.InvalidValue, "Operations[%d].bulkId must not be empty", i)
	}
	// A reference inside a PATCH path's filter ends at these characters:
	// a bulkId holding one could be declared and never referenced there.
	if strings.ContainsAny(o.bulkID, bulkRefEnd) {
		return bulkOp{}, resources.Errorf(resources.InvalidValue, "Operations[%d].bulkId %s holds a space, a quote or one of /,;()[]{}?#&=, which end a reference to it: use letters, digits, - or _", i, strconv.Quote(o.bulkID))
	}
	if o.version, err = str("version", false); err != nil {
		return bulkOp{}, err
	}
	if v, ok := m[bulkKey(m, "data")]; ok && v != nil {
		if _, isObj := v.(map[string]any); !isObj {
			return bulkOp{}, resources.Errorf(resources.InvalidSyntax, "Operations[%d].data must be an object, got %s", i, bulkJSONText(v))
		}
		o.data = v
	}
	o.err = o.target(i, path)
	if o.err == nil && o.method != http.MethodDelete && o.data == nil {
		o.err = resources.Errorf(resources.InvalidSyntax, "Operations[%d] (%s %s) needs data", i, o.method, path)
	}
	if o.endpoint == "Users" {
		o.secret.rt = users
	}
	if o.err == nil {
		if name, ok := strings.CutPrefix(o.id, bulkRefPrefix); ok {
			o.refs = append(o.refs, name)
		}
		if o.method != http.MethodDelete {
			o.data = replaceRefs(o.data, o.secret, func(name string) string {
				o.refs = append(o.refs, name)
				return bulkRefPrefix + name
			})
		}
	}
	return o, nil
}

// target checks the method and path of an operation and sets endpoint and id.
// Only /Users and /Groups are reachable: no /Bulk in /Bulk, no discovery.
func (o *bulkOp) target(i int, path string) error {
	switch o.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return resources.Errorf(resources.InvalidValue, "Operations[%d].method %q is not supported; use POST, PUT, PATCH or DELETE", i, o.method)
	}
	rest, ok := strings.CutPrefix(path, "/")
	if !ok || strings.ContainsAny(path, "?#") {
		return resources.Errorf(resources.InvalidValue, "Operations[%d].path %q must be a resource path such as /Users or /Groups/{id}", i, path)
	}
	endpoint, id, hasID := strings.Cut(rest, "/")
	switch {
	case strings.EqualFold(endpoint, "Users"):
		o.endpoint = "Users"
	case strings.EqualFold(endpoint, "Groups"):
		o.endpoint = "Groups"
	default:
		return resources.Errorf(resources.InvalidValue, "Operations[%d].path %q is not allowed in a bulk request; only /Users and /Groups are", i, path)
	}
	if o.method == http.MethodPost {
		if hasID {
			return resources.Errorf(resources.InvalidValue, "Operations[%d]: POST creates a resource: its path must be /%s, not %q", i, o.endpoint, path)
		}
		return nil
	}
	// No id starts with a dot: that would reach /Users/.search or, cleaned, a
	// path other than the one sent.
	if !hasID || id == "" || strings.HasPrefix(id, ".") || strings.Contains(id, "/") {
		return resources.Errorf(resources.InvalidValue, "Operations[%d]: %s needs the path of one resource, /%s/{id}, got %q", i, o.method, o.endpoint, path)
	}
	o.id = id
	return nil
}

// replaceRefs returns v, an operation's data, with every bulkId reference
// in its string values replaced by f(name). A value that is "bulkId:" and a
// name is a reference (RFC 7644 §3.7.2: "the string "bulkId:qwerty"");
// inside a longer string only a PATCH operation's path names one
// (members[value eq "bulkId:q"]), and a "$ref" (".../Users/bulkId:q"),
// ending at the first quote, space, slash or bracket: a title that holds
// "bulkId:" is text. A secret (a password, a custom writeOnly attribute:
// see bulkSecrets) is never a reference, whether it is an attribute, a
// sub-attribute of one, or the value of a PATCH operation whose path names
// it, so that it is never quoted in an error either. Object keys are left
// alone, and v itself is not changed: objects and arrays are copied.
func replaceRefs(v any, secret bulkSecrets, f func(name string) string) any {
	m, ok := v.(map[string]any)
	if !ok {
		return replaceRefsIn(v, secret, "", f, false)
	}
	out := make(map[string]any, len(m))
	for k, e := range m {
		ops, isList := e.([]any)
		if !strings.EqualFold(k, "Operations") || !isList {
			out[k] = replaceRefsAt(k, secret.join("", k), e, secret, f)
			continue
		}
		// A PatchOp message's operations (RFC 7644 §3.5.2).
		list := make([]any, len(ops))
		for i, op := range ops {
			om, isMap := op.(map[string]any)
			if !isMap {
				list[i] = replaceRefsIn(op, secret, "", f, false)
				continue
			}
			path, _ := om[bulkKey(om, "path")].(string)
			base := withoutFilters(path)
			next := make(map[string]any, len(om))
			for ok, oe := range om {
				switch {
				case strings.EqualFold(ok, "path"):
					next[ok] = replaceRefsIn(oe, secret, "", f, true)
				case strings.EqualFold(ok, "value") && base != "":
					next[ok] = replaceRefsAt("", base, oe, secret, f)
				default:
					next[ok] = replaceRefsIn(oe, secret, "", f, false)
				}
			}
			list[i] = next
		}
		out[k] = list
	}
	return out
}

// replaceRefsAt is replaceRefsIn on the value e of the attribute at path
// (the member k of an object; "" for a PATCH value): a secret is never
// read as a reference (nor quoted in an error); a "$ref" may hold one
// inside its text.
func replaceRefsAt(k, path string, e any, secret bulkSecrets, f func(name string) string) any {
	if secret.at(path) {
		return e
	}
	return replaceRefsIn(e, secret, path, f, strings.EqualFold(k, "$ref"))
}

// bulkSecrets tells which attributes of an operation's data hold secrets,
// by their path in rt, the organization's User type for a user's
// operation (nil for a group's): the password, and custom attributes that
// are writeOnly or returned never, and their sub-attributes
// (schemas.ResourceType.SecretPath). A member named "password" is one in
// any operation, as before custom attributes could be secrets.
type bulkSecrets struct{ rt *schemas.ResourceType }

// at reports whether the attribute at path holds a secret.
func (s bulkSecrets) at(path string) bool {
	if path == "" {
		return false
	}
	if i := strings.LastIndexAny(path, ":."); strings.EqualFold(strings.TrimSpace(path[i+1:]), "password") {
		return true
	}
	return s.rt != nil && s.rt.SecretPath(path)
}

// join is the path of the member k of an object at path: top-level (path
// ""), in a schema's object (path its URN), or a sub-attribute. k is a
// path itself in a PATCH value (RFC 7644 §3.5.2.1: no path, or a schema's
// URN), so its value filters and spaces go, as the server ignores them.
func (s bulkSecrets) join(path, k string) string {
	k = withoutFilters(k)
	switch {
	case path == "":
		return k
	case s.schema(path):
		return path + ":" + k
	}
	return path + "." + k
}

// schema reports whether urn is the URN of the User type's core schema or
// of one of its extensions: an object under it holds that schema's
// attributes.
func (s bulkSecrets) schema(urn string) bool {
	if s.rt == nil || !strings.HasPrefix(strings.ToLower(urn), "urn:") {
		return false
	}
	_, ok := s.rt.Extension(urn)
	return ok || strings.EqualFold(urn, s.rt.Schema.ID)
}

// withoutFilters is a PATCH path without its value filters
// (emails[type eq "work"].value is emails.value), trimmed.
func withoutFilters(path string) string {
	if !strings.Contains(path, "[") {
		return strings.TrimSpace(path)
	}
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case quoted && c == '\\':
			i++
		case c == '"' && depth > 0:
			quoted = !quoted
		case quoted:
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(b.String())
}

// bulkRefEnd are the characters that end a bulkId named inside a longer
// string (a PATCH path's filter, an operation's path).
const bulkRefEnd = "\"' \t\r\n/,;()[]{}?#&="

// replaceRefsIn is replaceRefs on any part of the data; inText says v is a
// PATCH operation's path or a "$ref", in which references may be inside the
// text.
func replaceRefsIn(v any, secret bulkSecrets, path string, f func(name string) string, inText bool) any {
	switch x := v.(type) {
	case string:
		// "bulkId:" names a reference only when a name follows: "Ask bulkId:
		// desk" is text.
		if name, ok := strings.CutPrefix(x, bulkRefPrefix); ok && name != "" && !strings.ContainsAny(name, bulkRefEnd) {
			return f(name)
		}
		if !inText || !strings.Contains(x, bulkRefPrefix) {
			return x
		}
		var b strings.Builder
		for {
			i := strings.Index(x, bulkRefPrefix)
			if i < 0 {
				b.WriteString(x)
				return b.String()
			}
			b.WriteString(x[:i])
			x = x[i+len(bulkRefPrefix):]
			end := strings.IndexAny(x, bulkRefEnd)
			if end < 0 {
				end = len(x)
			}
			if end == 0 {
				b.WriteString(bulkRefPrefix) // no name: text
				continue
			}
			b.WriteString(f(x[:end]))
			x = x[end:]
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = replaceRefsAt(k, secret.join(path, k), e, secret, f)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = replaceRefsIn(e, secret, path, f, false)
		}
		return out
	}
	return v
}

// bulkPlan is the order in which operations run, and the cycles among them.
type bulkPlan struct {
	order  []int
	cycles map[int][]int // operation → the operations of its cycle, in request order
}

// planBulk orders the operations so that a POST runs before the operations
// that reference its bulkId, keeping the client's order otherwise (RFC 7644
// §3.7: "the same stateful result ... as for non-optimized processing"):
// an operation that references a POST later in the request waits, and runs
// right after it; so do the later operations on a resource it writes (two
// writes of one resource keep their order), the later POSTs no waiting
// operation needs (they may take a name one frees), and later waiting
// operations (they keep their order); nothing runs earlier than the client
// put it. A later PUT, PATCH or DELETE of another resource passes a waiting
// operation: that is what lets a customer be deleted and created again
// behind a group, listed first, that names the new one. Operations on a cycle (user A's manager
// is B and B's is A) cannot be ordered: they come together, at the place of
// the last of them, and runCycle resolves them.
//
// Tarjan's algorithm over "references" edges finds the strongly connected
// components: a component of more than one operation, or of one that
// references itself, is a cycle. The components then run in request order
// (a cycle at its last operation), each once every component it references
// has run and every waiting one before it that writes one of its resources.
func planBulk(ops []bulkOp) bulkPlan {
	declared := make(map[string]int, len(ops))
	for i, o := range ops {
		if o.bulkID != "" && o.method == http.MethodPost && o.err == nil {
			declared[o.bulkID] = i
		}
	}
	p := bulkPlan{order: make([]int, 0, len(ops)), cycles: map[int][]int{}}
	comp := make([]int, len(ops))  // operation → its component: the last operation of it
	index := make([]int, len(ops)) // 0: not visited yet; else visit number
	low := make([]int, len(ops))
	onStack := make([]bool, len(ops))
	var stack []int
	next := 1
	var visit func(i int)
	visit = func(i int) {
		index[i], low[i] = next, next
		next++
		stack = append(stack, i)
		onStack[i] = true
		selfRef := false
		for _, name := range ops[i].refs {
			j, ok := declared[name]
			switch {
			case !ok:
				// Fails when it runs: nothing declares the bulkId.
			case j == i:
				selfRef = true
			case index[j] == 0:
				visit(j)
				low[i] = min(low[i], low[j])
			case onStack[j]:
				low[i] = min(low[i], index[j])
			}
		}
		if low[i] != index[i] {
			return // i belongs to a component rooted lower on the stack
		}
		k := len(stack) - 1
		for stack[k] != i {
			k--
		}
		members := slices.Clone(stack[k:])
		stack = stack[:k]
		slices.Sort(members) // request order
		last := members[len(members)-1]
		for _, m := range members {
			onStack[m] = false
			comp[m] = last
		}
		if len(members) > 1 || selfRef {
			for _, m := range members {
				p.cycles[m] = members
			}
		}
	}
	for i := range ops {
		if index[i] == 0 {
			visit(i)
		}
	}
	// needs: what each component runs after. Those it references first.
	needs := map[int]map[int]bool{}
	wait := func(c, behind int) {
		if needs[c] == nil {
			needs[c] = map[int]bool{}
		}
		needs[c][behind] = true
	}
	for i, o := range ops {
		for _, name := range o.refs {
			if j, ok := declared[name]; ok && comp[j] != comp[i] {
				wait(comp[i], comp[j])
			}
		}
	}
	members := func(c int) []int {
		if m := p.cycles[c]; m != nil {
			return m
		}
		return []int{c}
	}
	done := map[int]bool{}
	ready := func(c int) bool {
		for d := range needs[c] {
			if !done[d] {
				return false
			}
		}
		return true
	}
	emit := func(c int) {
		done[c] = true
		p.order = append(p.order, members(c)...)
	}
	isPost := func(c int) bool { return ops[members(c)[0]].method == http.MethodPost } // a cycle is of POSTs
	// pulled: the POSTs that waiting components need, directly or through
	// other POSTs: they run when their turn comes, ahead of the waiting.
	pulled := map[int]bool{}
	var pull func(c int)
	pull = func(c int) {
		for d := range needs[c] {
			if !pulled[d] && isPost(d) {
				pulled[d] = true
				pull(d)
			}
		}
	}
	// waitingOn: a resource a waiting component writes → that component;
	// a later operation that writes it waits behind it.
	waitingOn := map[string]int{}
	var waiting []int // components in request order, waiting
	lastWaiter := -1  // the last waiting component that is not a POST
	for i := range ops {
		if comp[i] != i {
			continue // a cycle's operation: the cycle runs at its last
		}
		switch {
		case isPost(i) && !pulled[i]:
			// A POST no waiting component needs comes after them all, as
			// listed: it may take a name one of them frees.
			for _, w := range waiting {
				if !done[w] {
					wait(i, w)
				}
			}
		case !isPost(i):
			for _, m := range members(i) {
				if w, ok := waitingOn[ops[m].resource()]; ok && !done[w] {
					wait(i, w)
				}
			}
		}
		if !ready(i) {
			if !isPost(i) {
				// Waiting operations keep their order among themselves.
				if lastWaiter >= 0 && !done[lastWaiter] {
					wait(i, lastWaiter)
				}
				lastWaiter = i
			}
			waiting = append(waiting, i)
			pull(i)
			for _, m := range members(i) {
				if r := ops[m].resource(); r != "" {
					waitingOn[r] = i
				}
			}
			continue
		}
		emit(i)
		for again := true; again; {
			again = false
			for w, c := range waiting {
				if ready(c) {
					emit(c)
					waiting = slices.Delete(waiting, w, w+1)
					again = true
					break
				}
			}
		}
	}
	for _, c := range waiting { // cannot happen: what a component needs comes before or after it
		emit(c)
	}
	return p
}

// resource names what an operation writes, for planBulk: its endpoint and
// id as the request gives it (a bulkId path as "bulkId:<name>"), a POST's
// as "bulkId:<its bulkId>"; "" when it cannot be named.
func (o bulkOp) resource() string {
	switch {
	case o.method == http.MethodPost && o.bulkID != "":
		return o.endpoint + "/" + bulkRefPrefix + o.bulkID
	case o.method != http.MethodPost && o.id != "":
		return o.endpoint + "/" + o.id
	}
	return ""
}

// runBulk runs the operations of req in plan order and returns the results of
// those that ran, in request order. It stops after failOnErrors errors (RFC
// 7644 §3.7.3): the operations not run are not reported. It starts no
// operation once [Config].MaxBulkTime has passed: those not run then
// answer 503 (notRun).
func (h *Handler) runBulk(r *http.Request, req bulkRequest) []bulkResult {
	stopAt := time.Now().Add(h.cfg.MaxBulkTime)
	late := false
	ops := req.ops
	plan := planBulk(ops)
	results := make([]*bulkResult, len(ops))
	created := map[string]string{} // bulkId → id of the resource its POST created
	declared := map[string]bool{}
	for _, o := range ops {
		if o.method == http.MethodPost && o.bulkID != "" {
			declared[o.bulkID] = true
		}
	}
	failures := 0
	for _, i := range plan.order {
		if r.Context().Err() != nil {
			break // the client is gone
		}
		if late = time.Now().After(stopAt); late {
			break
		}
		if results[i] != nil {
			continue // ran with its cycle
		}
		ran := map[int]bulkResult{}
		if cycle := plan.cycles[i]; cycle != nil {
			ran = h.runCycle(r, ops, cycle, created, declared)
		} else {
			ran[i] = h.runOp(r.Context(), r, ops[i], created, declared)
		}
		stop := false
		for m, res := range ran {
			results[m] = &res
			if res.Status[0] >= '4' {
				failures++
				stop = stop || req.failOnErrors > 0 && failures >= req.failOnErrors
			}
		}
		if stop {
			break
		}
	}
	out := make([]bulkResult, 0, len(ops))
	for i, res := range results {
		switch {
		case res != nil:
			out = append(out, *res)
		case late:
			out = append(out, h.notRun(r, ops[i], created))
		}
	}
	return out
}

// notRun is the result of operation o, not run because the request ran out
// of time ([Config].MaxBulkTime): 503, nothing of it done.
func (h *Handler) notRun(r *http.Request, o bulkOp, created map[string]string) bulkResult {
	res := bulkResult{Method: o.method, BulkID: o.bulkID}
	id := o.id
	if name, ok := strings.CutPrefix(id, bulkRefPrefix); ok {
		id = created[name]
	}
	res.Location = h.bulkLocation(o, id)
	if o.err != nil {
		return h.failOp(r, res, o.err) // it would not have run anyway
	}
	return h.failOp(r, res, resources.Errorf(resources.Unavailable,
		"not run: this /Bulk request ran out of time (%v) before this operation started, and nothing of it was done; send it again, in a smaller /Bulk request", h.cfg.MaxBulkTime))
}

// bulkLocation is the location of a non-POST operation's result (RFC 7644
// §3.7.3: required except for a failed POST): its resource, id when
// resolved, else its path as sent (an unresolved bulkId); "" for a POST.
func (h *Handler) bulkLocation(o bulkOp, id string) string {
	if o.method == http.MethodPost || o.endpoint == "" {
		return ""
	}
	switch {
	case id != "":
		return h.cfg.BaseURL + "/" + o.endpoint + "/" + id
	case o.id != "":
		return h.cfg.BaseURL + "/" + o.endpoint + "/" + url.PathEscape(o.id)
	}
	return h.cfg.BaseURL + "/" + o.endpoint
}

// cycleUndoTimeout bounds the undoing of a failed cycle. The undo runs on a
// context of its own, not the request's: it must finish when the client has
// left, which is one of the reasons it runs, and a context of its own needs
// a deadline of its own so that it cannot hang.
const cycleUndoTimeout = 30 * time.Second

// runCycle runs the POSTs of a cycle of bulkId references (RFC 7644
// §3.7.1: the service provider "MUST try to resolve circular
// cross-references"): each is created without the attributes that name a
// resource of the cycle not created yet, then those attributes are added
// with a PATCH once every resource exists. The cycle is done whole or not
// at all: when one of its POSTs or PATCHes fails, or the client leaves
// before the last is done, every resource the cycle created is deleted
// again, its operation failing with 409; a failed operation reports why.
//
// Each operation of the cycle runs on a context the client's leaving does
// not cancel, so that it is either done (and known, to be undone) or not
// done; the client's context is looked at between operations only. A
// write cancelled mid-call might have happened unseen and be left behind.
func (h *Handler) runCycle(r *http.Request, ops []bulkOp, cycle []int, created map[string]string, declared map[string]bool) map[int]bulkResult {
	client := r.Context()
	// The cycle's customers are invited once it is kept: undone, they are
	// deleted, and nobody hears of them.
	work, invitations := resources.WithHeldInvitations(context.WithoutCancel(client))
	onCycle := map[string]bool{}
	for _, m := range cycle {
		onCycle[ops[m].bulkID] = true
	}
	later := func(name string) bool {
		_, done := created[name]
		return onCycle[name] && !done
	}
	out := make(map[int]bulkResult, len(cycle))
	deferred := map[int][]any{} // PATCH operations to run once all exist
	failed, left := false, false
	for _, m := range cycle {
		if left = client.Err() != nil; left {
			break
		}
		o := ops[m]
		if o.err == nil {
			o.data, deferred[m] = withoutLaterRefs(o.data, o.secret, later)
		}
		out[m] = h.runOp(work, r, o, created, declared)
		if out[m].Status[0] >= '4' {
			failed = true
			break // the cycle is undone: its other operations need not run
		}
	}
	for _, m := range cycle {
		if failed || left {
			break
		}
		if left = client.Err() != nil; left {
			break
		}
		res := out[m]
		if len(deferred[m]) == 0 {
			continue
		}
		target := BasePath + "/" + ops[m].endpoint + "/" + url.PathEscape(created[ops[m].bulkID])
		refs := &bulkResolver{created: created, declared: declared}
		body, err := json.Marshal(replaceRefs(map[string]any{"schemas": []any{schemas.PatchOpURN}, "Operations": deferred[m]}, ops[m].secret, refs.id))
		rec := &opRecorder{header: http.Header{}}
		if err = cmp.Or(refs.err, err); err != nil {
			writeError(rec, r, h.log, err)
		} else {
			rec = h.dispatch(work, r, http.MethodPatch, target, body, "")
		}
		if rec.status < 400 {
			res.Version = rec.header.Get("ETag")
		} else {
			failed = true
			res = bulkResult{Method: res.Method, BulkID: res.BulkID, Status: strconv.Itoa(rec.status), Response: errorResponse(rec)}
		}
		out[m] = res
	}
	if !failed && !left {
		invitations.Deliver(context.WithoutCancel(client))
		return out
	}
	// One operation of the cycle failed, or the client left: the others
	// name what it was to create, so none of them is kept.
	names := make([]string, len(cycle))
	for n, m := range cycle {
		names[n] = strconv.Quote(ops[m].bulkID)
	}
	why := "another operation of it failed"
	if left {
		why = "the client left before the cycle was complete"
	}
	undo, cancel := context.WithTimeout(work, cycleUndoTimeout)
	defer cancel()
	for _, m := range cycle {
		res, ran := out[m]
		id, ok := created[ops[m].bulkID]
		if !ok {
			if !ran {
				out[m] = h.failOp(r, bulkResult{Method: ops[m].method, BulkID: ops[m].bulkID}, resources.Errorf(resources.Conflict,
					"bulkId %q was not run: it is on a circular reference among bulkIds %s, and %s", ops[m].bulkID, strings.Join(names, ", "), why))
			}
			continue
		}
		target := BasePath + "/" + ops[m].endpoint + "/" + url.PathEscape(id)
		if rec := h.dispatch(undo, r, http.MethodDelete, target, nil, ""); rec.status >= 400 && rec.status != http.StatusNotFound {
			h.log.ErrorContext(undo, "bulk cycle undo failed: a resource of a failed cycle is left",
				"org", principal(client).Org, "resource_id", id, "status", rec.status, "err", string(errorResponse(rec)))
		}
		delete(created, ops[m].bulkID)
		if !ran || res.Status[0] < '4' {
			out[m] = h.failOp(r, bulkResult{Method: ops[m].method, BulkID: ops[m].bulkID}, resources.Errorf(resources.Conflict,
				"bulkId %q was undone: it is on a circular reference among bulkIds %s, and %s", ops[m].bulkID, strings.Join(names, ", "), why))
		}
	}
	return out
}

// withoutLaterRefs splits the data of a POST: what can be created now, and
// "add" PATCH operations for the attributes (top-level, or of an extension)
// that reference a bulkId for which later reports true.
func withoutLaterRefs(data any, secret bulkSecrets, later func(name string) bool) (any, []any) {
	m, ok := data.(map[string]any)
	if !ok {
		return data, nil
	}
	refersLater := func(k, path string, v any) bool {
		found := false
		replaceRefsAt(k, path, v, secret, func(name string) string {
			found = found || later(name)
			return ""
		})
		return found
	}
	now := make(map[string]any, len(m))
	var patch []any
	for k, v := range m {
		if ext, isExt := v.(map[string]any); isExt && secret.schema(k) {
			kept := make(map[string]any, len(ext))
			for ek, ev := range ext {
				if refersLater(ek, secret.join(k, ek), ev) {
					patch = append(patch, map[string]any{"op": "add", "path": k + ":" + ek, "value": ev})
				} else {
					kept[ek] = ev
				}
			}
			now[k] = kept
			continue
		}
		if refersLater(k, secret.join("", k), v) {
			patch = append(patch, map[string]any{"op": "add", "path": k, "value": v})
			continue
		}
		now[k] = v
	}
	return now, patch
}

// bulkResolver replaces bulkId references by the ids of the resources their
// POSTs created, and keeps the first it cannot resolve as the client's error.
type bulkResolver struct {
	created  map[string]string // bulkId → id of the resource its POST created
	declared map[string]bool   // bulkIds some POST of the request declares
	err      error
}

func (b *bulkResolver) id(name string) string {
	if id, ok := b.created[name]; ok {
		return id
	}
	if b.err == nil {
		if b.declared[name] {
			b.err = resources.Errorf(resources.Conflict, "bulkId %q cannot be resolved: the POST that declares it failed", name)
		} else {
			b.err = resources.Errorf(resources.Conflict, "bulkId %q cannot be resolved: no POST operation in this request declares it", name)
		}
	}
	return ""
}

// runOp resolves the references of one operation and dispatches it on ctx.
func (h *Handler) runOp(ctx context.Context, r *http.Request, o bulkOp, created map[string]string, declared map[string]bool) bulkResult {
	res := bulkResult{Method: o.method, BulkID: o.bulkID}
	refs := &bulkResolver{created: created, declared: declared}
	id := o.id
	if name, ok := strings.CutPrefix(id, bulkRefPrefix); ok {
		id = refs.id(name)
	}
	res.Location = h.bulkLocation(o, id)
	if o.err != nil {
		return h.failOp(r, res, o.err)
	}
	var body []byte
	if o.method != http.MethodDelete {
		var err error
		if body, err = json.Marshal(replaceRefs(o.data, o.secret, refs.id)); err != nil {
			return h.failOp(r, res, fmt.Errorf("encode bulk operation data: %w", err))
		}
	}
	if refs.err != nil {
		return h.failOp(r, res, refs.err)
	}

	target := BasePath + "/" + o.endpoint
	if id != "" {
		target += "/" + url.PathEscape(id)
	}
	rec := h.dispatch(ctx, r, o.method, target, body, o.version)
	res.Status = strconv.Itoa(rec.status)
	if rec.status >= 400 {
		res.Response = errorResponse(rec)
	} else {
		res.Version = rec.header.Get("ETag")
	}
	if o.method == http.MethodPost && rec.status == http.StatusCreated {
		// The answer has no body (withStatusOnly): the id ends its Location.
		res.Location = rec.header.Get("Location")
		if id := res.Location[strings.LastIndexByte(res.Location, '/')+1:]; id != "" && o.bulkID != "" {
			created[o.bulkID] = id
		}
	}
	return res
}

// dispatch runs one operation through the SCIM mux as the bulk request r's
// caller, on ctx (r's context, or one derived from it that outlives it), and
// records the answer: its status and headers, and an error's body (a
// success has none: withStatusOnly).
func (h *Handler) dispatch(ctx context.Context, r *http.Request, method, target string, body []byte, version string) *opRecorder {
	rec := &opRecorder{header: http.Header{}}
	req, err := http.NewRequestWithContext(withStatusOnly(ctx), method, target, bytes.NewReader(body))
	if err != nil {
		writeError(rec, r, h.log, fmt.Errorf("build bulk operation request %s %s: %w", method, target, err))
		return rec
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if version != "" && method != http.MethodPost {
		req.Header.Set("If-Match", version)
	}
	h.mux.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec
}

// failOp records an operation that failed before it was dispatched.
func (h *Handler) failOp(r *http.Request, res bulkResult, err error) bulkResult {
	rec := &opRecorder{header: http.Header{}}
	writeError(rec, r, h.log, err)
	res.Status = strconv.Itoa(rec.status)
	res.Response = errorResponse(rec)
	return res
}

// errorResponse returns the SCIM error body an operation answered, or one
// made from its status when the body is not JSON.
func errorResponse(rec *opRecorder) json.RawMessage {
	body := bytes.TrimSpace(rec.body.Bytes())
	if json.Valid(body) && len(body) > 0 && body[0] == '{' {
		return body
	}
	b, _ := json.Marshal(errorBody{Schemas: []string{schemas.ErrorURN}, Status: strconv.Itoa(rec.status), Detail: http.StatusText(rec.status)})
	return b
}

// opRecorder is the http.ResponseWriter of one bulk operation.
type opRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// Header implements http.ResponseWriter.
func (o *opRecorder) Header() http.Header { return o.header }

// WriteHeader implements http.ResponseWriter.
func (o *opRecorder) WriteHeader(code int) {
	if o.status == 0 {
		o.status = code
	}
}

// Write implements http.ResponseWriter.
func (o *opRecorder) Write(b []byte) (int, error) {
	if o.status == 0 {
		o.status = http.StatusOK
	}
	return o.body.Write(b)
}

// bulkKey returns the key of m that equals name ignoring case (RFC 7643 §2.1),
// or name when there is none.
func bulkKey(m map[string]any, name string) string {
	if _, ok := m[name]; ok {
		return name
	}
	for k := range m {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return name
}

// bulkMember returns m's value for name, ignoring case.
func bulkMember(m map[string]any, name string) any { return m[bulkKey(m, name)] }

// bulkHasSchema reports whether a schemas value lists urn, ignoring case.
func bulkHasSchema(v any, urn string) bool {
	list, _ := v.([]any)
	for _, s := range list {
		if s, ok := s.(string); ok && strings.EqualFold(s, urn) {
			return true
		}
	}
	return false
}

// bulkInt returns v as an int when it is a JSON integer (or a string of one,
// as some clients send).
func bulkInt(v any) (int, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, errors.New("not an integer")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return int(min(max(n, math.MinInt32), math.MaxInt32)), err
}

// bulkJSONText shows a decoded JSON value in an error detail, shortened.
func bulkJSONText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%T", v)
	}
	if len(b) > 40 {
		return string(b[:37]) + "..."
	}
	return string(b)
}
