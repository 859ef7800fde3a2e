package backend

import (
	"fmt"
	"sort"
	"strings"
)

// A user's stored document is dictionary-coded (see luaStoredHash): most of
// it is the names of the schema's attributes and fixed fragments such as
// "type":"work", the same in every user, and a byte in 0x02..0x1f stands
// for one of them. JSON never holds a byte below 0x20 raw (it escapes
// them), so the codes cannot be confused with the text, nor with NUL (the
// end of the document in a body) or KEYREF (0x01, the user's key).
//
// The documents Go stores are encoding/json's, their keys sorted: the
// fragments follow that order (a fragment may join the end of one
// attribute to the next one's name), and a closing brace belongs to the
// fragment after it.

// docFragments is the dictionary, one fragment a line: the i-th line (from
// 0) is coded as the byte 0x02+i. It is part of every stored user: never
// change, reorder or remove a line, only append (at most 30 lines in all,
// up to 0x1f). Lua's unpackDoc (luaStoredHash) reads this very text.
const docFragments = `{"active":true,"emails":[{"primary":true,"type":"work","value":"
{"active":true,
{"active":false,
"emails":[{"primary":true,"type":"work","value":"
"}],
"externalId":"
"name":{"familyName":"
","givenName":"
"name":{"givenName":"
"},"urn:scim:schemas:extension:customer:2.0:User":{"accountState":"
"urn:scim:schemas:extension:customer:2.0:User":{"accountState":"
active"
noPassword"
pendingInvitation"
passwordChangeRequired"
invitationNotDelivered"
pendingConfirmation"
disabled","stateWhenEnabled":"
,"passwordSetup":"invite"
,"passwordSetup":"temporaryPassword"
},"userName":"
","userType":"Customer"}
"userName":"
"displayName":"
"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{
"department":"
"employeeNumber":"
"manager":{"value":"
"phoneNumbers":[{
"value":"`

// docCodeFirst and docCodeLast are the bytes the dictionary codes with.
const (
	docCodeFirst = 0x02
	docCodeLast  = 0x1f
)

// docDict is docFragments as a list: docDict[i] is coded as docCodeFirst+i.
var docDict = strings.Split(docFragments, "\n")

// docCandidates lists, by a fragment's first byte, the codes of the
// fragments starting with it, longest first (greedy longest match).
var docCandidates = func() [256][]byte {
	var out [256][]byte
	for i, f := range docDict {
		out[f[0]] = append(out[f[0]], byte(docCodeFirst+i))
	}
	for _, codes := range out {
		sort.SliceStable(codes, func(a, b int) bool {
			return len(docDict[codes[a]-docCodeFirst]) > len(docDict[codes[b]-docCodeFirst])
		})
	}
	return out
}()

// packDoc returns a user's JSON document as a body stores it: each
// occurrence of its key (see luaStoredHash; "" for none) replaced by
// KEYREF, and each fragment of the dictionary by its code, the longest
// that matches at each position. It fails on a document holding a byte
// below 0x20, which JSON does not.
func packDoc(doc []byte, key string) ([]byte, error) {
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 {
			key = "" // never in JSON raw: nothing to replace
			break
		}
	}
	out := make([]byte, 0, len(doc)/2)
	for i := 0; i < len(doc); {
		c := doc[i]
		if c < 0x20 {
			return nil, fmt.Errorf("document holds the control byte %#x", c)
		}
		if key != "" && c == key[0] && hasPrefix(doc[i:], key) {
			out = append(out, 1)
			i += len(key)
			continue
		}
		coded := false
		for _, code := range docCandidates[c] {
			if f := docDict[code-docCodeFirst]; hasPrefix(doc[i:], f) {
				out = append(out, code)
				i += len(f)
				coded = true
				break
			}
		}
		if !coded {
			out = append(out, c)
			i++
		}
	}
	return out, nil
}

// hasPrefix reports whether b begins with s, without copying b.
func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

// unpackDoc is packDoc's inverse: a stored document with the user's key in
// place of each KEYREF and its fragment in place of each code. A document
// without them (written before the dictionary, or by Lua's packDoc) is
// returned as it is; a code past the dictionary's end (a newer version's)
// stays, and the document then does not decode.
func unpackDoc(doc, key string) string {
	i := 0
	for i < len(doc) && doc[i] >= 0x20 {
		i++
	}
	if i == len(doc) {
		return doc
	}
	var b strings.Builder
	b.Grow(len(doc) * 4)
	b.WriteString(doc[:i])
	for ; i < len(doc); i++ {
		c := doc[i]
		switch {
		case c == 1:
			b.WriteString(key)
		case c >= docCodeFirst && int(c-docCodeFirst) < len(docDict):
			b.WriteString(docDict[c-docCodeFirst])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
