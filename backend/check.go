package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// Finding is one disagreement [Store.Check] found between a document and
// what should agree with it: an index, a uniqueness entry, a membership's
// other side, an ordering set, a pending link. It names keys and ids only,
// never a value (userName, email) nor a secret: it is printed for operators.
type Finding struct {
	// Key is the Redis key that disagrees.
	Key string
	// ID is the user, group, administrator or token (by name) it is about;
	// "" when the key itself is the whole story.
	ID string
	// Code says what disagrees, one of the keys of [FindingCodes].
	Code string
}

// String is the finding as the check command prints it: key, id, and what
// disagrees, in words.
func (f Finding) String() string {
	what := FindingCodes[f.Code]
	if what == "" {
		what = f.Code
	}
	if f.ID == "" || strings.HasSuffix(f.Key, ":"+f.ID) {
		return f.Key + ": " + what
	}
	return f.Key + " " + f.ID + ": " + what
}

// FindingCodes says, for each code of a [Finding], what disagrees.
var FindingCodes = map[string]string{
	"ordered-missing":      "the ordering set names a resource that does not exist",
	"unordered":            "the resource is not in its ordering set (lists and scans miss it)",
	"version-missing":      "the resource has no version",
	"times-missing":        "the resource has no created or lastModified time",
	"doc-invalid":          "the resource's document is not a JSON object",
	"unique-missing":       "the uniqueness hash does not map the resource's unique key to it",
	"unique-stray":         "the uniqueness hash maps a key to a resource that does not exist",
	"unique-stale":         "the uniqueness hash maps a key to a resource whose unique key is another",
	"unique-misplaced":     "the userName hash holds a userName of another bucket: lookups never read it there",
	"unique-key-stale":     "the resource's stored unique key does not fit its document",
	"inactive-stale":       "the set of users whose active is not true (inactive:user) disagrees with the user's active",
	"unique-duplicate":     "the index that keeps the attribute unique holds the resource's value for another resource too",
	"display-stale":        "the resource's stored display does not fit its document",
	"ix-invalid":           "the resource's stored index entries do not decode",
	"ix-stale":             "the resource's stored index entries do not fit its document",
	"index-missing":        "the index lacks an entry of the resource",
	"index-stray":          "the index has an entry of a resource that does not exist",
	"index-stale":          "the index has an entry the resource does not have",
	"index-malformed":      "the index has an entry without an id",
	"group-missing":        "names a group that does not exist",
	"sweep-unlisted":       "members of a deleted group left to sweep, but the organization's leaving hash does not list the group: no sweep will end them",
	"sweep-group-exists":   "members of a deleted group left to sweep, but a group of that id exists",
	"replace-unlisted":     "a replacement of the group's members left to sweep, but the group's replacing field or the organization's replacing set does not record it: no sweep will end its old memberships",
	"user-missing":         "names a user that does not exist",
	"admin-missing":        "names an administrator who does not exist",
	"membership-ahead":     "the user's membership began at more renames than its group has had",
	"member-display-stale": "the group's members keep another display than the user's",
	"member-one-sided":     "the membership is recorded on one side only (group's members, user's groups)",
	"order-missing":        "the members' order lacks the member's entry (its display in lower case, NUL, its id): the console's members tab rebuilds the order when it next shows the group",
	"order-stray":          "the members' order has an entry that is no member's current one: the console's members tab rebuilds the order when it next shows the group",
	"link-missing":         "the user's current link names a link that does not exist or names another user",
	"link-not-current":     "the link is not its user's current one (a revoked link still works)",
	"ticket-malformed":     "the password-change ticket does not name a user and password stamp",
	"admin-incomplete":     "the administrator lacks an email, unique key or creation time",
	"admin-role":           "the administrator's role is neither owner nor collaborator",
	"owners-stale":         "the owners set disagrees with the administrator's role",
	"link-incomplete":      "the link or session lacks its administrator, creation time or CSRF token",
	"link-unlisted":        "the link or session is not in its administrator's set (a password change or removal would not end it)",
	"link-kind":            "the link's kind is neither invite nor signin",
	"token-missing":        "the organization's token index names a token that is neither among its records nor in scimd:tokens (half revoked: revoke it again)",
	"token-mismatch":       "the token's record belongs to another organization or name than the index says",
	"token-unindexed":      "the token works but no organization's index names it (an interrupted create or replace: it cannot be listed or revoked)",
	"token-invalid":        "the token in scimd:tokens is not valid JSON",
	"token-used-stray":     "records a use or a previous secret of a token the organization does not have",
	"org-unknown":          "the token belongs to an organization that scimd:orgs does not list",
	"sequence-behind":      "the sequence is below the highest score of the groups' ordering set: new groups would sort among old ones",
	"created-score":        "the user's score in the ordering set is not its creation time in microseconds (meta.created filters and creation order disagree)",
	"setting-invalid":      "the setting has a value scimd does not know",
	"uq-invalid":           "the user's stored claims of custom unique attributes are not a JSON list",
	"uq-stale":             "the user's stored claims of custom unique attributes do not fit its document",
	"schema-invalid":       "a stored custom schema is not a valid definition: the organization's custom attributes are not checked",
	"schema-generation":    "custom schemas are stored without a generation: writes are not checked against them",
	"key-unknown":          "a key of the organization of no kind scimd writes",
}

// CheckStats counts what [Store.Check] read.
type CheckStats struct {
	Users, Groups, Memberships, Admins, Keys int
	Findings                                 int
	// PendingGroupDeletes counts deleted groups whose memberships are still
	// being ended (see [Store.DeleteGroup]): work left, not findings. A
	// server finishes them when it starts, and at every group deletion.
	PendingGroupDeletes int
	// PendingGroupReplacements counts groups whose members were replaced
	// and whose old memberships are still being ended (see
	// [Store.UpdateGroup]): work left, not findings. A server finishes them
	// when it starts, and at the group's next write.
	PendingGroupReplacements int
	// PendingPurges counts removed custom schemas and attributes whose
	// stored values are still being purged (see [Store.PurgeExtensions]):
	// work left, not findings. A server resumes them when it starts, and at
	// the organization's next schema change.
	PendingPurges int
	// PendingUpgrade reports that keys of an earlier version's layout are
	// still being converted (see [Store.Upgrade]): work left, not
	// findings. A server converts them when it starts.
	PendingUpgrade bool
}

// checkBatch is how many items one check script call covers: large enough
// for few round trips, small enough that a script blocks Redis briefly.
const checkBatch = 200

// checkScripts are the checker's scripts (see check_scripts.go).
type checkScripts struct {
	resources, members, order, index, unique, claims, keys, owners *redis.Script
	inactive, userNames                                            *redis.Script
}

func newCheckScripts() checkScripts {
	return checkScripts{
		resources: redis.NewScript(checkResourcesSrc),
		members:   redis.NewScript(checkMembersSrc),
		order:     redis.NewScript(checkOrderSrc),
		index:     redis.NewScript(checkIndexSrc),
		unique:    redis.NewScript(checkUniqueSrc),
		claims:    redis.NewScript(checkClaimsSrc),
		keys:      redis.NewScript(checkKeysSrc),
		owners:    redis.NewScript(checkOwnersSrc),
		inactive:  redis.NewScript(checkInactiveSrc),
		userNames: redis.NewScript(checkUserNamesSrc),
	}
}

// Check reads every key of an organization and reports, through report,
// each disagreement between a document and its indexes, uniqueness entries,
// memberships (both sides), ordering set and pending links (invitations,
// tickets, confirmations, administrators' links and sessions), and between the
// organization's token index and the global tokens hash. It returns an error
// only when it could not read; findings are not errors.
//
// It reads in batches (ZSCAN, HSCAN, SSCAN of the organization's sets, and one
// SCAN of the organization's keys, on the Cluster node that holds them), so
// its memory does not grow with the organization. Each batch is checked by
// one read-only script, so a finding held at one instant even while the
// server keeps writing; only token findings (the global hash is in another
// Cluster slot) may be made up by a token written during the check: run it
// again to confirm one. Scans may return an item twice, and so a finding.
func (s *Store) Check(ctx context.Context, org string, report func(Finding)) (CheckStats, error) {
	c, err := s.newChecker(org, report)
	if err != nil {
		return CheckStats{}, err
	}
	if err := c.all(ctx); err != nil {
		return c.stats, fmt.Errorf("check %s: %w", org, err)
	}
	if err := c.globalTokens(ctx, org); err != nil {
		return c.stats, fmt.Errorf("check %s: %w", org, err)
	}
	return c.stats, nil
}

// CheckAll runs [Store.Check] for every organization scimd:orgs lists, calling
// each after it is checked, and checks the global tokens hash once for all of
// them. Findings of tokens of organizations that scimd:orgs does not list are
// reported to the last call of report.
func (s *Store) CheckAll(ctx context.Context, report func(org string, f Finding), each func(org string, st CheckStats)) error {
	orgs, err := s.allOrgs(ctx)
	if err != nil {
		return err
	}
	for _, org := range orgs {
		c, err := s.newChecker(org, func(f Finding) { report(org, f) })
		if err != nil {
			return err
		}
		if err := c.all(ctx); err != nil {
			return fmt.Errorf("check %s: %w", org, err)
		}
		each(org, c.stats)
	}
	c := &checker{s: s, script: newCheckScripts(), report: func(f Finding) { report("", f) }}
	if err := c.globalTokens(ctx, ""); err != nil {
		return fmt.Errorf("check tokens: %w", err)
	}
	return nil
}

// checker is one run of [Store.Check] on one organization.
type checker struct {
	s      *Store
	script checkScripts
	org, p string
	report func(Finding)
	stats  CheckStats
	// users is the organization's user kind: with its custom attributes'
	// indexes (loadCustom). custom are those attributes, purging the
	// removed ones whose values are still being purged.
	users   *kind
	custom  schemas.Custom
	purging []resources.PurgeTarget
	// sweeping are the attributes whose trigram entries a pending
	// substring sweep is writing or removing (substring.go): until it
	// reaches a user, the user may have them or not.
	sweeping []string
	// purgeKeys are the index and uniqueness keys of purging attributes
	// the key scan found, checked after it.
	purgeKeys []string
	// nameKeys are the userName hashes (usernames.go) the key scan found,
	// checked after it.
	nameKeys []string
}

func (s *Store) newChecker(org string, report func(Finding)) (*checker, error) {
	p, err := prefix(org)
	if err != nil {
		return nil, err
	}
	return &checker{s: s, script: newCheckScripts(), org: org, p: p, report: report, users: &s.users}, nil
}

func (c *checker) add(f Finding) {
	c.stats.Findings++
	c.report(f)
}

// findings reports a check script's flat list key, id, code.
func (c *checker) findings(v any) {
	flat, _ := v.([]any)
	for i := 0; i+2 < len(flat); i += 3 {
		key, _ := flat[i].(string)
		id, _ := flat[i+1].(string)
		code, _ := flat[i+2].(string)
		c.add(Finding{Key: key, ID: id, Code: code})
	}
}

// run runs a check script on one batch and reports its findings.
func (c *checker) run(ctx context.Context, script *redis.Script, key string, args ...any) error {
	res, err := script.Run(ctx, c.s.client, []string{key}, args...).Result()
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	c.findings(res)
	return nil
}

// kinds are the store's kinds of resources, users first.
func (s *Store) kinds() []*kind { return []*kind{&s.users, &s.groups} }

// kinds are the kinds the check walks: the organization's users (with its
// custom attributes' indexes, see loadCustom) and the groups.
func (c *checker) kinds() []*kind { return []*kind{c.users, &c.s.groups} }

// all checks everything of the organization but the global tokens hash.
func (c *checker) all(ctx context.Context) error {
	if err := c.loadCustom(ctx); err != nil {
		return err
	}
	for _, k := range c.kinds() {
		if err := c.resources(ctx, k); err != nil {
			return err
		}
		if err := c.indexes(ctx, k); err != nil {
			return err
		}
	}
	for _, k := range c.s.kinds() {
		if k.uniqueUserName {
			continue // the userName hashes: checked with the users and after the key scan
		}
		if err := c.unique(ctx, c.p+k.uniqueHash(), k.name); err != nil {
			return err
		}
	}
	if err := c.unique(ctx, c.p+"admins", "admin"); err != nil {
		return err
	}
	for _, a := range c.custom.Unique {
		if err := c.claims(ctx, c.p+"unique:user:"+a.FullName(), a.FullName()); err != nil {
			return err
		}
	}
	if err := c.owners(ctx); err != nil {
		return err
	}
	if err := c.tokens(ctx); err != nil {
		return err
	}
	if err := c.sequenceAndSettings(ctx); err != nil {
		return err
	}
	if err := c.keys(ctx); err != nil {
		return err
	}
	if err := c.userNames(ctx); err != nil {
		return err
	}
	return c.purgingKeys(ctx)
}

// userNames checks the entries of the userName hashes the key scan found:
// each is in the hash of its userName's bucket and names a user of that
// userName (its entry in the userName index, which the index check holds
// against the users). That each user has its entry is checked with the
// user, once the hashes are ready.
func (c *checker) userNames(ctx context.Context) error {
	for _, key := range c.nameKeys {
		if err := c.hscan(ctx, key, func(fields, values []string) error {
			args := []any{c.p}
			for i := range fields {
				args = append(args, fields[i], values[i])
			}
			return c.run(ctx, c.script.userNames, key, args...)
		}); err != nil {
			return err
		}
	}
	return nil
}

// resources checks every user or group its ordering set names, and a
// group's members.
func (c *checker) resources(ctx context.Context, k *kind) error {
	all := c.p + "all:" + k.name
	sparse, converted := "", true
	for _, ix := range k.indexes {
		if ix.sparse {
			sparse = ix.name
		}
	}
	if legacy, ok := k.legacySparseIndex(); ok {
		// Until the earlier index is converted, inactive:<kind> holds
		// only the users this version wrote.
		n, err := c.s.client.Exists(ctx, c.p+legacy).Result()
		if err != nil {
			return fmt.Errorf("check %ss: redis: %w", k.name, err)
		}
		converted = n == 0
		c.stats.PendingUpgrade = c.stats.PendingUpgrade || !converted
	}
	if k.createdScored {
		// The earlier index of meta.created, until it is converted
		// (upgradeCreated): users' scores are checked against their times
		// once it is gone (checkIndexed).
		n, err := c.s.client.Exists(ctx, c.p+legacyCreatedIndex).Result()
		if err != nil {
			return fmt.Errorf("check %ss: redis: %w", k.name, err)
		}
		c.stats.PendingUpgrade = c.stats.PendingUpgrade || n > 0
	}
	return c.zscan(ctx, all, func(ids []string) error {
		res, err := c.script.resources.Run(ctx, c.s.client, []string{all}, append([]any{c.p, k.name, sparse}, anys(ids)...)...).Slice()
		if err != nil {
			return fmt.Errorf("check %ss: redis: %w", k.name, err)
		}
		c.findings(res[0])
		docs, _ := res[1].([]any)
		for _, d := range docs {
			f, _ := d.([]any)
			if len(f) != 7 {
				return fmt.Errorf("check %ss: unexpected script result %v", k.name, d)
			}
			str := func(i int) string { s, _ := f[i].(string); return s }
			c.document(k, str(0), str(1), str(2), str(3), str(4), str(5))
			if sparse != "" && converted {
				c.inactive(k, str(0), str(1), str(6))
			}
			*k.counted(&c.stats)++
			if !k.rt.HasMembers {
				continue
			}
			if err := c.members(ctx, str(0)); err != nil {
				return err
			}
		}
		return nil
	})
}

// document checks that a resource's bookkeeping (unique key, display, index
// entries, a user's claims of custom unique attributes) is what its document
// makes it: what the write scripts were given. Entries and claims of
// attributes still being purged may remain until the purge reaches the user.
func (c *checker) document(k *kind, id, doc, uk, disp, ix, uq string) {
	key := c.p + k.name + ":" + id
	var attrs map[string]any
	if err := json.Unmarshal([]byte(doc), &attrs); err != nil {
		c.add(Finding{Key: key, ID: id, Code: "doc-invalid"})
		return
	}
	wantUK, _ := uniqueKey(attrs, k.unique)
	if uk != wantUK && !(k.uniqueUserName && uk == "") { // a user's: until its next write (legacyKeys)
		c.add(Finding{Key: key, ID: id, Code: "unique-key-stale"})
	}
	if disp != k.display(attrs) {
		c.add(Finding{Key: key, ID: id, Code: "display-stale"})
	}
	if !sameEntries(c.unpurged(c.unswept(withoutSparse(k, ix))), c.unswept(k.indexEntries(attrs))) {
		c.add(Finding{Key: key, ID: id, Code: "ix-stale"})
	}
	if k.name != "user" {
		return
	}
	if uq == "" {
		uq = "[]"
	}
	if !sameEntries(c.unpurged(uq), customClaims(c.custom, attrs)) {
		c.add(Finding{Key: key, ID: id, Code: "uq-stale"})
	}
}

// inactive checks a user's entry in inactive:<kind> (as checkResourcesSrc
// read it) against its document's active (see active.go).
func (c *checker) inactive(k *kind, id, doc, entry string) {
	var attrs map[string]any
	if json.Unmarshal([]byte(doc), &attrs) != nil {
		return // doc-invalid already
	}
	want := map[string]string{"true": "", "false": "false", "": "none"}[activeState(attrs)]
	if entry != want {
		c.add(Finding{Key: c.p + "inactive:" + k.name, ID: id, Code: "inactive-stale"})
	}
}

// withoutSparse returns a JSON list attr, value, ... without the pairs of
// k's sparse boolean, which users written by an earlier version keep in
// their field ix (as is when it is not a list).
func withoutSparse(k *kind, flat string) string {
	kept, _, err := splitFlat(flat, func(name string) bool {
		return slices.ContainsFunc(k.indexes, func(ix indexAttr) bool { return ix.sparse && ix.name == name })
	})
	if err != nil {
		return flat
	}
	return flatJSON(kept)
}

// unpurged returns a JSON list attr, value, ... without the pairs of
// attributes being purged (as is when it is not a list: the caller's
// comparison fails).
func (c *checker) unpurged(flat string) string {
	if len(c.purging) == 0 {
		return flat
	}
	kept, _, err := splitFlat(flat, func(name string) bool {
		return slices.ContainsFunc(c.purging, func(t resources.PurgeTarget) bool { return t.Covers(name) })
	})
	if err != nil {
		return flat
	}
	return flatJSON(kept)
}

// unswept returns a JSON list attr, value, ... without the pairs of the
// trigram indexes a pending sweep covers (as is when it is not a list).
func (c *checker) unswept(flat string) string {
	if len(c.sweeping) == 0 {
		return flat
	}
	kept, _, err := splitFlat(flat, func(name string) bool {
		base, ok := strings.CutSuffix(name, trigramSuffix)
		return ok && slices.Contains(c.sweeping, base)
	})
	if err != nil {
		return flat
	}
	return flatJSON(kept)
}

// trigramIndexes are the names of the organization's trigram indexes that
// may hold entries: its opted-in attributes' and those a sweep is
// removing.
func (c *checker) trigramIndexes() []string {
	var out []string
	for _, a := range substringAttrs {
		if slices.Contains(c.custom.Substring, a) || slices.Contains(c.sweeping, a) {
			out = append(out, a+trigramSuffix)
		}
	}
	return out
}

// loadCustom reads the organization's custom attribute definitions: the
// users' indexes and claims are checked against them.
func (c *checker) loadCustom(ctx context.Context) error {
	set, err := c.s.Extensions(ctx, c.org)
	if err != nil {
		return err
	}
	c.purging = set.Purging
	c.stats.PendingPurges = len(set.Purging)
	c.sweeping = set.SubstringPending
	if len(set.Definitions) == 0 && len(set.Substring) == 0 {
		return nil
	}
	if set.Generation == 0 {
		c.add(Finding{Key: c.p + "exts:gen", Code: "schema-generation"})
		return nil
	}
	rt, err := set.UserType()
	if err != nil {
		c.add(Finding{Key: c.p + "exts", Code: "schema-invalid"})
		return nil
	}
	c.users = c.s.users.forType(&rt)
	c.custom = rt.Custom
	return nil
}

// claims checks every claim of a custom unique attribute against the user
// it names.
func (c *checker) claims(ctx context.Context, key, attr string) error {
	return c.hscan(ctx, key, func(fields, values []string) error {
		args := []any{c.p, attr}
		for i := range fields {
			args = append(args, fields[i], values[i])
		}
		return c.run(ctx, c.script.claims, key, args...)
	})
}

// purgingKeys checks the entries of the index and uniqueness keys of
// attributes still being purged that the key scan found: until the purge
// reaches a user, its entries and claims stay, in its stored fields too.
func (c *checker) purgingKeys(ctx context.Context) error {
	for _, key := range c.purgeKeys {
		rest := strings.TrimPrefix(key, c.p)
		if attr, ok := strings.CutPrefix(rest, "ix:user:"); ok {
			if err := c.zscan(ctx, key, func(entries []string) error {
				return c.run(ctx, c.script.index, key, append([]any{c.p, "user", attr, ""}, anys(entries)...)...)
			}); err != nil {
				return err
			}
			continue
		}
		if err := c.claims(ctx, key, strings.TrimPrefix(rest, "unique:user:")); err != nil {
			return err
		}
	}
	return nil
}

// sameEntries reports whether two JSON lists attr, value, ... hold the same
// pairs, in any order.
func sameEntries(a, b string) bool {
	pairs := func(s string) []string {
		var flat []string
		if json.Unmarshal([]byte(s), &flat) != nil {
			return nil
		}
		out := make([]string, 0, len(flat)/2)
		for i := 0; i+1 < len(flat); i += 2 {
			out = append(out, flat[i]+"\x00"+flat[i+1])
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(pairs(a), pairs(b))
}

// members checks a group's members, in batches, and their order
// (morder:<groupId>) against them both ways.
func (c *checker) members(ctx context.Context, gid string) error {
	key := c.p + "members:" + gid
	if err := c.hscan(ctx, key, func(fields, _ []string) error {
		c.stats.Memberships += len(fields)
		return c.run(ctx, c.script.members, key, append([]any{c.p, gid}, anys(fields)...)...)
	}); err != nil {
		return err
	}
	order := c.p + "morder:" + gid
	return c.zscan(ctx, order, func(entries []string) error {
		return c.run(ctx, c.script.order, order, append([]any{key}, anys(entries)...)...)
	})
}

// indexes checks every entry of a kind's indexes against its resource.
func (c *checker) indexes(ctx context.Context, k *kind) error {
	for _, ix := range k.indexes {
		key := c.p + "ix:" + k.name + ":" + ix.name
		meta := ""
		switch {
		case ix.name == "meta.created":
			meta = "created"
		case ix.name == "meta.lastModified":
			meta = "modified"
		case k.uniqueUserName && ix.name == k.unique:
			meta = "unique"
		}
		if err := c.zscan(ctx, key, func(entries []string) error {
			return c.run(ctx, c.script.index, key, append([]any{c.p, k.name, ix.name, meta}, anys(entries)...)...)
		}); err != nil {
			return err
		}
	}
	if _, ok := k.legacySparseIndex(); ok {
		key := c.p + "inactive:" + k.name
		if err := c.zscan(ctx, key, func(ids []string) error {
			return c.run(ctx, c.script.inactive, key, append([]any{c.p, k.name}, anys(ids)...)...)
		}); err != nil {
			return err
		}
	}
	if k.name != "user" {
		return nil
	}
	for _, name := range c.trigramIndexes() {
		key := c.p + "ix:user:" + name
		if err := c.zscan(ctx, key, func(entries []string) error {
			return c.run(ctx, c.script.index, key, append([]any{c.p, "user", name, ""}, anys(entries)...)...)
		}); err != nil {
			return err
		}
	}
	return nil
}

// unique checks every entry of a uniqueness hash against its resource.
func (c *checker) unique(ctx context.Context, key, seg string) error {
	return c.hscan(ctx, key, func(fields, values []string) error {
		args := []any{c.p, seg}
		for i := range fields {
			args = append(args, fields[i], values[i])
		}
		if seg == "admin" {
			c.stats.Admins += len(fields)
		}
		return c.run(ctx, c.script.unique, key, args...)
	})
}

// owners checks the owners set against the administrators' roles.
func (c *checker) owners(ctx context.Context) error {
	key := c.p + "owners"
	iter := c.s.client.SScan(ctx, key, 0, "", checkBatch).Iterator()
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := c.run(ctx, c.script.owners, key, append([]any{c.p}, anys(batch)...)...)
		batch = batch[:0]
		return err
	}
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == checkBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("scan %s: redis: %w", key, err)
	}
	return flush()
}

// tokens checks the organization's token index against the tokens' records
// (the organization's own for org-scoped tokens, else the global hash), its
// previous secrets and last uses against the index, and its records against
// the index and previous secrets.
func (c *checker) tokens(ctx context.Context) error {
	index, prevKey, records := tokenIndex(c.p), tokenPrevious(c.p), tokenRecords(c.p)
	if err := c.hscan(ctx, index, func(names, hashes []string) error {
		recs, err := c.s.records(ctx, c.p, hashes)
		if err != nil {
			return err
		}
		for i, t := range recs {
			switch {
			case t == nil:
				c.add(Finding{Key: index, ID: names[i], Code: "token-missing"})
			case t.Org != c.org || t.Name != names[i]:
				c.add(Finding{Key: tokensKey, ID: names[i], Code: "token-mismatch"})
			}
		}
		return nil
	}); err != nil {
		return err
	}
	for _, key := range []string{tokenUsed(c.p), prevKey} {
		if err := c.hscan(ctx, key, func(names, _ []string) error {
			tokens := make([]string, len(names))
			for i, name := range names {
				tokens[i] = strings.TrimSuffix(name, previousUse)
			}
			vals, err := c.s.client.HMGet(ctx, index, tokens...).Result()
			if err != nil {
				return fmt.Errorf("redis: %w", err)
			}
			for i, v := range vals {
				if v == nil {
					c.add(Finding{Key: key, ID: names[i], Code: "token-used-stray"})
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return c.hscan(ctx, records, func(hashes, values []string) error {
		names := make([]string, len(hashes))
		for i, v := range values {
			var t resources.Token
			if json.Unmarshal([]byte(v), &t) != nil {
				c.add(Finding{Key: records, Code: "token-invalid"})
				continue
			}
			if t.Org != c.org {
				c.add(Finding{Key: records, ID: t.Name, Code: "token-mismatch"})
				continue
			}
			names[i] = t.Name
		}
		pipe := c.s.client.Pipeline()
		cur := make([]*redis.StringCmd, len(hashes))
		prev := make([]*redis.StringCmd, len(hashes))
		for i, name := range names {
			if name != "" {
				cur[i] = pipe.HGet(ctx, index, name)
				prev[i] = pipe.HGet(ctx, prevKey, name)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("redis: %w", err)
		}
		for i, name := range names {
			if name != "" && cur[i].Val() != hashes[i] && prev[i].Val() != hashes[i] {
				c.add(Finding{Key: records, ID: c.org + "/" + name, Code: "token-unindexed"})
			}
		}
		return nil
	})
}

// globalTokens checks the tokens of the global hash, of one organization or
// ("") of all: each is named by its organization's index, and its
// organization is known.
func (c *checker) globalTokens(ctx context.Context, org string) error {
	type tok struct{ hash, org, name string }
	return c.hscan(ctx, tokensKey, func(hashes, values []string) error {
		var toks []tok
		for i, v := range values {
			var t resources.Token
			if json.Unmarshal([]byte(v), &t) != nil {
				if org == "" {
					c.add(Finding{Key: tokensKey, Code: "token-invalid"})
				}
				continue
			}
			if org != "" && t.Org != org {
				continue
			}
			if _, err := prefix(t.Org); err != nil {
				c.add(Finding{Key: tokensKey, ID: t.Org + "/" + t.Name, Code: "org-unknown"})
				continue
			}
			toks = append(toks, tok{hashes[i], t.Org, t.Name})
		}
		if len(toks) == 0 {
			return nil
		}
		pipe := c.s.client.Pipeline()
		named := make([]*redis.StringCmd, len(toks))
		previous := make([]*redis.StringCmd, len(toks))
		known := make([]*redis.BoolCmd, len(toks))
		for i, t := range toks {
			p, _ := prefix(t.org)
			named[i] = pipe.HGet(ctx, tokenIndex(p), t.name)
			previous[i] = pipe.HGet(ctx, tokenPrevious(p), t.name)
			known[i] = pipe.SIsMember(ctx, orgsKey, t.org)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("redis: %w", err)
		}
		for i, t := range toks {
			if !known[i].Val() {
				c.add(Finding{Key: tokensKey, ID: t.org + "/" + t.name, Code: "org-unknown"})
			}
			if named[i].Val() != t.hash && previous[i].Val() != t.hash {
				c.add(Finding{Key: tokensKey, ID: t.org + "/" + t.name, Code: "token-unindexed"})
			}
		}
		return nil
	})
}

// sequenceAndSettings checks that the sequence is ahead of the groups'
// ordering set (the users' is scored by creation time: created.go), and
// the settings' values.
func (c *checker) sequenceAndSettings(ctx context.Context) error {
	pipe := c.s.client.Pipeline()
	seq := pipe.Get(ctx, c.p+"seq")
	top := []*redis.ZSliceCmd{
		pipe.ZRangeWithScores(ctx, c.p+"all:group", -1, -1),
	}
	selfReg := pipe.HGet(ctx, c.p+"settings", settingSelfRegistration)
	onboarding := pipe.HGet(ctx, c.p+"settings", settingOnboarding)
	format := pipe.HGet(ctx, c.p+"settings", settingUserNameFormat)
	substr := pipe.HMGet(ctx, c.p+"settings", settingSubstringSearch, settingSubstringSweep)
	pending := pipe.HLen(ctx, c.p+"leaving")
	replacing := pipe.SCard(ctx, c.p+"replacing")
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redis: %w", err)
	}
	n, _ := seq.Float64()
	for _, t := range top {
		if z := t.Val(); len(z) == 1 && z[0].Score > n {
			c.add(Finding{Key: c.p + "seq", Code: "sequence-behind"})
			break
		}
	}
	c.stats.PendingGroupDeletes = int(pending.Val())
	c.stats.PendingGroupReplacements = int(replacing.Val())
	if v := selfReg.Val(); v != "" && v != "on" && v != "off" {
		c.add(Finding{Key: c.p + "settings", ID: settingSelfRegistration, Code: "setting-invalid"})
	}
	if v := onboarding.Val(); v != "" {
		if _, err := resources.ParseOnboarding(v); err != nil {
			c.add(Finding{Key: c.p + "settings", ID: settingOnboarding, Code: "setting-invalid"})
		}
	}
	if v := format.Val(); v != "" {
		if _, err := resources.ParseUserNameFormat(v); err != nil {
			c.add(Finding{Key: c.p + "settings", ID: settingUserNameFormat, Code: "setting-invalid"})
		}
	}
	if v, _ := substr.Val()[0].(string); v != "" {
		if attrs, err := resources.ParseSubstringSearch(splitSetting(v)); err != nil || strings.Join(attrs, ",") != v {
			c.add(Finding{Key: c.p + "settings", ID: settingSubstringSearch, Code: "setting-invalid"})
		}
	}
	if v, _ := substr.Val()[1].(string); v != "" {
		if st, err := decodeSweep(v); err != nil || len(st.Attrs) == 0 {
			c.add(Finding{Key: c.p + "settings", ID: settingSubstringSweep, Code: "setting-invalid"})
		}
	}
	return nil
}

// keySegments are the key segments of an organization's keys that name one
// resource, link or set ("<segment>:<argument>"), checked by checkKeysSrc.
var keySegments = map[string]bool{
	"user": true, "group": true, "pw": true, "ugroups": true, "members": true,
	"invite": true, "uinvite": true, "ticket": true, "confirm": true, "uconfirm": true,
	"admin": true, "adminlink": true, "adminlinks": true, "session": true, "adminsessions": true,
	"leaving": true, "replacing": true, "csession": true, "morder": true, "mailturn": true,
}

// singleKeys are the organization's keys of which there is one, relative to
// its prefix.
func (c *checker) singleKeys() map[string]bool {
	out := map[string]bool{
		"created": true, "seq": true, "settings": true, "tokens": true, "tokenused": true, "tokenhash": true, "tokenprev": true, "changes": true,
		"admins": true, "owners": true, "leaving": true, "replacing": true,
		"exts": true, "exts:gen": true, "exts:purge": true, userNamesReady: true,
	}
	for _, key := range legacyKeys {
		out[key] = true // until a server starts (Store.Upgrade)
	}
	for _, k := range c.kinds() {
		out["all:"+k.name] = true
		if !k.uniqueUserName {
			out[k.uniqueHash()] = true
		}
		for _, ix := range k.indexes {
			out["ix:"+k.name+":"+ix.name] = true // a sparse boolean's: until a server starts (Store.Upgrade)
			if ix.sparse {
				out["inactive:"+k.name] = true
			}
		}
	}
	for _, a := range c.custom.Unique {
		out["unique:user:"+a.FullName()] = true
	}
	for _, name := range c.trigramIndexes() {
		out["ix:user:"+name] = true
	}
	return out
}

// purgingKey reports whether rest (a key without the prefix) is the index
// or uniqueness key of an attribute still being purged.
func (c *checker) purgingKey(rest string) bool {
	name, ok := strings.CutPrefix(rest, "ix:user:")
	if !ok {
		name, ok = strings.CutPrefix(rest, "unique:user:")
	}
	return ok && slices.ContainsFunc(c.purging, func(t resources.PurgeTarget) bool { return t.Covers(name) })
}

// keys scans the organization's keys, on the node that holds them, for the
// ones no set of the organization names, and for keys of no known kind.
func (c *checker) keys(ctx context.Context) error {
	node, err := c.node(ctx)
	if err != nil {
		return err
	}
	single := c.singleKeys()
	var batch []any
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := c.run(ctx, c.script.keys, c.p+"seq", append([]any{c.p}, batch...)...)
		batch = batch[:0]
		return err
	}
	iter := node.Scan(ctx, 0, globEscape(c.p)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		c.stats.Keys++
		rest := strings.TrimPrefix(iter.Val(), c.p)
		if single[rest] {
			continue
		}
		if c.purgingKey(rest) {
			c.purgeKeys = append(c.purgeKeys, iter.Val())
			continue
		}
		if n, ok := strings.CutPrefix(rest, "unames:"); ok && n != "ready" {
			if b, err := strconv.Atoi(n); err == nil && b >= 0 && b < userNameBuckets && strconv.Itoa(b) == n {
				c.nameKeys = append(c.nameKeys, iter.Val())
				continue
			}
		}
		seg, arg, ok := strings.Cut(rest, ":")
		if !ok || !keySegments[seg] {
			c.add(Finding{Key: iter.Val(), Code: "key-unknown"})
			continue
		}
		if batch = append(batch, seg, arg); len(batch) == 2*checkBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("scan keys: redis: %w", err)
	}
	return flush()
}

// node returns the client of the server that holds the organization's keys:
// on Cluster the master of its slot (SCAN runs on one node), else the client.
func (c *checker) node(ctx context.Context) (redis.Cmdable, error) {
	cc, ok := c.s.client.(*redis.ClusterClient)
	if !ok {
		return c.s.client, nil
	}
	n, err := cc.MasterForKey(ctx, c.p+"seq")
	if err != nil {
		return nil, fmt.Errorf("find the cluster node of %s: redis: %w", c.org, err)
	}
	return n, nil
}

// globEscape escapes the characters SCAN's MATCH pattern gives a meaning.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// zscan calls f with batches of a sorted set's members.
func (c *checker) zscan(ctx context.Context, key string, f func([]string) error) error {
	var cursor uint64
	for {
		kv, next, err := c.s.client.ZScan(ctx, key, cursor, "", checkBatch).Result()
		if err != nil {
			return fmt.Errorf("scan %s: redis: %w", key, err)
		}
		members := make([]string, 0, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			members = append(members, kv[i])
		}
		if len(members) > 0 {
			if err := f(members); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// hscan calls f with batches of a hash's fields and values.
func (c *checker) hscan(ctx context.Context, key string, f func(fields, values []string) error) error {
	var cursor uint64
	for {
		kv, next, err := c.s.client.HScan(ctx, key, cursor, "", checkBatch).Result()
		if err != nil {
			return fmt.Errorf("scan %s: redis: %w", key, err)
		}
		fields := make([]string, 0, len(kv)/2)
		values := make([]string, 0, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			fields = append(fields, kv[i])
			values = append(values, kv[i+1])
		}
		if len(fields) > 0 {
			if err := f(fields, values); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
