// Package backend stores scimd's users, groups and tokens in Redis: a single
// server, Sentinel or Cluster, or an embedded in-process server
// (github.com/alicebob/miniredis/v2) that runs the very same Lua scripts.
// [Store] implements resources.UserStore, resources.GroupStore,
// resources.TokenStore, resources.AdminStore (the console's administrators,
// their links and sessions) and resources.OrgStore, and records every change
// in a per-organization change log.
//
// # Connecting
//
// [Open] takes a URL:
//
//   - "" starts the embedded server: in memory, lost on exit, for development.
//   - redis://[user:pass@]host:port[/db][?options] and rediss:// (TLS), or
//     unix:///path/to/socket: one server (go-redis ParseURL).
//   - redis+sentinel://[user:pass@]sentinel:port?master_name=NAME[&addr=sentinel2:port...]
//     and rediss+sentinel://: Sentinel failover (go-redis ParseFailoverURL; the
//     user and password are the Sentinel's).
//   - redis+cluster://[user:pass@]node:port[?addr=node2:port...] and
//     rediss+cluster://: Redis Cluster (go-redis ParseClusterURL).
//
// Connections time out after 1 s unless the URL sets dial_timeout. After a
// failover the store follows the promoted replica without a restart: on
// Cluster, errors that may mean a new layout (unreachable node, CLUSTERDOWN,
// READONLY, MOVED, ...) reload it, at most every 100 ms; Sentinel's client
// asks the sentinels at every connection. [Store.Ready] answers a readiness
// probe without retries, and [Store.WaitForReplica] makes every write wait
// for a replica (WAIT 1) before it is acknowledged.
//
// # Key layout
//
// Every key of an organization starts with "scimd:{<org>}:". The braces make
// the organization the Redis Cluster hash tag, so all of an organization's keys
// live in one slot and one Lua script may touch any of them: an organization
// is the unit of atomicity, and a cluster scales by organizations. Below,
// keys are relative to that prefix; <kind> is "user" or "group".
//
//	<kind>:<id>                 HASH doc (JSON of the attributes), ver, created, modified,
//	                            and bookkeeping: uk (a group's uniqueness key; a user written before the
//	                            userName index kept userNames unique: its old one, until its next write),
//	                            disp (display), ix (index entries);
//	                            a user's compactly, so that Redis keeps the hash a listpack: times in Unix
//	                            nanoseconds, modified absent while it equals created, doc and ix (compact
//	                            form) in one body cut in fields 0, 1, ... of at most 63 bytes, its key (the
//	                            first userName entry's value) written once, the document's fixed fragments
//	                            (attribute names, extension URNs: docFragments) as single bytes 0x02..0x1f
//	                            (older users as they were written,
//	                            until their next write; see luaStoredHash);
//	                            a user also offs (how often it was disabled, absent: 0: its customer
//	                            sessions and tickets are bound to it, Store.SignInStamp);
//	                            a group also renames (how often it was renamed, absent: 0) and, while
//	                            a replacement of its members is swept, replacing (its renames before it)
//	pw:<userId>                 STRING password hash, written only with its user
//	ugroups:<userId>            HASH groupId -> the group's renames when the membership began
//	members:<groupId>           HASH userId -> user display (displayName, else userName)
//	morder:<groupId>            ZSET score 0, members display (ASCII lower case) NUL userId: the same
//	                            members in display order, for paging by key (member_pages.go)
//	leaving:<groupId>           HASH userId -> display: members of a deleted group whose memberships
//	                            are still being ended (members:<groupId> renamed by the deletion)
//	leaving                     HASH groupId -> the deleted group's final renames: deletions being swept
//	replacing:<groupId>         HASH userId -> display: the members a replacement of the group's members
//	                            (remove all, then add) replaced, whose memberships are still being ended
//	replacing                   SET groupIds: replacements of members being swept
//	unique:group:displayName    HASH lowercase displayName -> groupId
//	ix:<kind>:<attribute>       ZSET score 0, members value NUL id (lexicographic index): one entry per
//	                            lowercase userName in ix:user:userName; no ix:user:meta.created:
//	                            all:user is that index (created.go)
//	unames:<n>                  HASH lowercase userName -> userId, n (0 to 32767) a hash of the
//	                            userName: "userName eq" and the uniqueness of userNames in O(1), the
//	                            write script's first write HSETNX (usernames.go)
//	unames:ready                STRING "1": the unames hashes hold every user (until then, written by
//	                            an earlier version: the index answers and keeps userNames unique)
//	all:user                    ZSET userId scored by its creation time in Unix microseconds, unique and
//	                            increasing (ordering set; the user's meta.created, created.go)
//	all:group                   ZSET groupId scored by creation sequence (ordering set)
//	inactive:user               ZSET userId scored by its score in all:user when its active is false, by
//	                            minus that when it has none: the exceptions, active having no index of its
//	                            own (active.go)
//	seq                         STRING sequence (INCR) behind the groups' ordering set
//	invite:<hash>               STRING userId: an invitation (hash of its token), PX its lifetime
//	uinvite:<userId>            STRING the hash of the user's one current invitation, same PX
//	ticket:<hash>               STRING userId: a password-change ticket, PX its lifetime
//	confirm:<hash>              STRING userId: a self-registration's confirmation (hash of its token), PX its lifetime
//	uconfirm:<userId>           STRING the hash of the user's one current confirmation, same PX
//	mailturn:<userId>           STRING "1": the public pages emailed the user lately (at most one such
//	                            email per window, resources.Onboarding.MailEvery), PX the window
//	created                     STRING when the organization was created: that it exists, in its own
//	                            slot (requests read it, never "scimd:orgs")
//	settings                    HASH the organization's settings: selfRegistration "on" | "off",
//	                            displayName (absent: none), onboarding "invite" | "none" (absent: none),
//	                            userNameFormat "email" | "any" (absent: email)
//	tokens                      HASH token name -> hash of its current secret (names unique per organization)
//	tokenhash                   HASH secret hash -> JSON token: the org-scoped tokens' records, current
//	                            and previous secrets (with expiresAt when they expire)
//	tokenprev                   HASH token name -> hash of the secret its last rotation replaced
//	tokenused                   HASH token name (a previous secret: name + ":previous") -> when it last
//	                            authenticated a request (best-effort)
//	changes                     STREAM the change log (audit trail), see below
//	admin:<id>                  HASH an administrator: email, uk (lowercase email), role, created, pw (password hash)
//	admins                      HASH lowercase email -> administrator id
//	owners                      SET ids of the administrators who are owners (the last-owner rule)
//	adminlink:<hash>            HASH admin, kind (invite | signin): a single-use link, PX its lifetime
//	adminlinks:<adminId>        SET hashes of the administrator's links
//	session:<hash>              HASH admin, created, csrf: a console session, PX its idle timeout
//	adminsessions:<adminId>     SET hashes of the administrator's sessions
//	csession:<hash>             STRING userId and password stamp: a customer's session of the customer pages, PX its lifetime
//
// Tokens: a token minted now names its organization in its secret
// (resources.NewTokenSecret), so a request finds its record in that
// organization's "tokenhash" with one HGET, in the organization's slot, and
// every write of it is one script there. Tokens of the older format (and a
// configured bootstrap token of any text) do not; their records are in the
// global "scimd:tokens" HASH of token hash -> JSON token, read only for
// them. "scimd:orgs" is the SET of organizations, read by commands and at a
// server's start, never per request: a request finds an organization by
// its "created" key. The global hash and an organization's keys are in different
// Cluster slots, so a write of a legacy token is two writes, ordered so that
// a crash between them is harmless: creating writes the token, then the
// index (an orphan token's secret was never shown); revoking deletes the
// token, then the index entry (the token stops working first; revoking again
// finishes the job).
//
// The secret that seals the API's pagination cursors (RFC 9865) is
// "scimd:cursorkey", outside every organization's prefix: random, written
// by the first process that needs it (SET NX), read by every other
// ([Store.CursorKey]). A cursor holds a position in a query's order, not a
// stored record: nothing is written per cursor or per page.
//
// The abuse limits shared by every process (limits.go) live under
// "scimd:limit:", outside the organizations' prefix: a token's bucket in its
// organization's slot ("scimd:limit:{<org>}:token:<name>"), an address's
// counts in no particular one. Revoked tokens and blocked addresses are
// published on the pub/sub channel "scimd:events" ([Store.WatchEvents]).
//
// # Change log
//
// Every write script appends one entry to the organization's "changes"
// stream, in the same script as the change, so the log and the data never
// disagree: fields time, who ("token:<name>", "customer:<userId>", "cli",
// "self-registration", "admin:<adminId>" or "system": see resources.Actor),
// action (create, replace, patch, delete, members, invite, register, confirm,
// setPassword), type (User, Group, Token, Settings, Administrator) and id (a
// token's name for tokens, a setting's name for settings, an administrator's
// id, never their email). A write that fails a check appends nothing. Entries hold no
// personal data (no userName, email or name) and no secrets. The stream is capped at about
// [Store.MaxChanges] entries (XADD MAXLEN ~). Deleting a user also removes
// it from its groups; that is recorded as the user's deletion only.
//
// Times are stored as RFC 3339 UTC with nine fraction digits, so that their
// lexical order is their time order; a user's creation time is a whole
// microsecond, its score in all:user. Indexed attributes (listed once, in
// index.go): for users userName, externalId, emails.value, name.givenName,
// name.familyName, displayName, active, meta.created and meta.lastModified;
// for groups displayName, externalId, meta.created and meta.lastModified. A
// user's meta.created is read from all:user, by score (created.go). A
// multi-valued attribute (emails.value) is indexed with every value. A
// user's active is kept as its exceptions (inactive:user, above): nearly
// every customer is active, and an index entry per customer costs about 135
// bytes. Values of attributes that are not caseExact are indexed in lower
// case. Values holding NUL are not indexed. Keys of an earlier layout are
// converted when a server starts (upgrade.go).
//
// # Atomicity
//
// Every write is one Lua script: document, version check, uniqueness, index
// entries, ordering set, both sides of memberships and the password hash
// change together or not at all. Each script performs every check (version,
// uniqueness, existence of added members) before its first write, because
// Redis does not roll back a script that fails halfway. Scripts pass the
// resource's key as KEYS[1] (which routes them on Cluster) and build the other
// keys of the organization from its prefix. On Redis 7 and later the scripts
// run as the functions of one library, FUNCTION LOADed when the store opens
// and called with FCALL, which saves re-running the helpers they share at
// every call; elsewhere (the embedded store, older Redis) with EVALSHA
// (library.go).
//
// Versions: every write of a resource bumps its version by one. Membership
// changes are changes of the group: adding or removing members, and deleting
// a member user, bump the group's version and lastModified, not the user's.
// A user's groups and a group's members are part of what their ETags stand
// for: joining or leaving a group is a new version of the user too. A user's
// rename writes its display into each of its groups' members and bumps each
// group's version: O(its groups). A group's rename writes no member: the group
// counts its renames, each membership keeps the count at which it began, a
// user's groups show the names read from the groups, and a user's version is
// its stored version plus the renames of its groups since it joined them (a
// membership that ends folds them into the stored version, so a version never
// goes back). A rename is thus a new version (ETag) of every member, but not a
// new meta.lastModified: that is the group's.
//
// Adding or removing one member costs O(1), whatever the group's size, and so
// does renaming a group; reading a user costs O(its groups); deleting a user
// O(its groups). Deleting a group, and replacing all its members, cost one
// script of O(1) (plus the members a replacement adds), then sweeps of at
// most 200 memberships each: no script grows with the group's size. Until a
// sweep ends, the memberships it is to end are out of the group's members
// and out of the users' groups alike; only the users' meta.lastModified
// changes at the sweep rather than at the write.
//
// # Queries
//
// planner.go is where a filter becomes Redis reads. Filters are planned onto
// the indexes: an attribute expression on an indexed attribute with eq, sw,
// gt, ge, lt, le or pr is a range of its index; "userName eq" is one
// script round trip that finds the user in its userName hash (unames:<n>)
// and returns it;
// "groups.value eq <group id>" is the range of every member of the group's
// morder (display NUL userId), and so is "groups.display eq <name>", the
// group found by its name (folded) in unique:group:displayName at the
// first read, no such group answering no match; "members.value eq <user
// id>" on groups is the user's groups, the fields of ugroups:<userId> whose
// group's members hold the user (so not the memberships a deletion or
// replacement is still sweeping), a small list collected and ordered like
// an "or" of different keys (membership.go). One comparison in a value path
// (groups[display eq "x"], emails[value sw "a"]) is planned as its
// qualified path; several are candidates. "co" and "ew" on an attribute the
// organization opted in to substring search (substring.go), with a value of
// at least 3 characters, are the "and" of the value's trigrams, each a range
// of the attribute's trigram index, driven by the rarest. "active eq",
// "active ne", "active pr" and their "not"s read inactive:user (active.go)
// in creation order: "active eq false" its entries above 0, "active eq
// null" (no active) those below 0, "active ne true" both, "active eq true"
// the ordering set without its entries, "active pr" without those below 0,
// "active ne false" without those above 0. A users' meta.created
// comparison (eq, gt, ge, lt, le, pr) is a span of scores of all:user,
// the time mapped to whole microseconds (created.go); an "and" of two is
// their intersection, an "or" of overlapping ones their union, a "not" of
// one open on one side the rest. A leaf is thus a range read of one
// sorted set, whatever the key, by value or, for active and a users'
// meta.created, by creation score, but for members.value eq. How the plan
// is answered:
//
//   - One exact leaf of a single-valued key (an "or" of ranges of one key is
//     one leaf): totalResults is ZLEXCOUNT (exact) and the page ZRANGEBYLEX
//     LIMIT startIndex count, whatever the number of matches; from
//     startIndex 2,000, a ZRANGE by rank (the range's first rank counted by
//     ZLEXCOUNT), O(log N + count) however deep. One active leaf likewise:
//     its total is ZCARD of the ordering set minus ZCOUNT of the
//     exceptions, and a page at startIndex k starts at the rank p that is
//     the fixed point of p = k + (exceptions created up to the user at p),
//     O(log N) a step, in one script, then reads on skipping exceptions.
//     One leaf of a users' meta.created: ZCOUNT of its span, and the page
//     ZRANGEBYSCORE LIMIT, or from startIndex 2,000 a ZRANGE by rank.
//   - "and": driven by the leaf with the fewest entries (ZLEXCOUNT
//     estimates), whose ids are streamed in its key's order, 500 at a time,
//     and checked against the whole filter with resources.Match; every
//     match is counted, those of the page kept. When every other leaf is
//     read by creation score (active, a users' meta.created: "active eq
//     true and userName sw "a""), the ids are checked on their scores
//     instead, one ZMSCORE per batch, no document read but the page's; the
//     one other leaf then drives unless it has more than 15 times the
//     entries of the smallest (a document read and checked costs about
//     that many ids' scores). A sorted query whose filter is such an "and"
//     with a leaf of the index sorted by walks only that leaf's ranges. A multi-valued leaf
//     (emails.value) is streamed the same way, each user counted at its
//     first entry (a set of the ids seen, for the request). Either costs the
//     driving leaf's entries times the filter's comparisons, charged to
//     [Store.MaxFilterWork] before the first read: past it the query fails
//     with resources.TooMany, naming indexed attributes to narrow with.
//   - "or" of different keys whose sides each stream from one leaf (an
//     exact leaf, an active leaf, an "and"): a merge (merge.go), side by
//     side in the filter's order, each in its leaf's order, a user counted
//     at the first side it matches: a later side leaves out the ids counted
//     before (kept up to [Store.MaxScan]; past that, its documents are
//     checked against the sides before it), so eq or eq, as identity
//     providers send, reads no document but the page's. totalResults is
//     exact; the sides' entries times the comparisons a check could cost
//     are charged to [Store.MaxFilterWork] first.
//   - "not" of an exact plan: the complement of its ids in creation order
//     (complement.go); totalResults is the ordering set's ZCARD less the
//     ids, and the page a ZRANGE by rank found from the ids' ranks,
//     O(ids + count) however deep; the ids are at most [Store.MaxScan],
//     counted (ZLEXCOUNT) before they are read, and read 10,000 at a time
//     (a million in one reply blocked Redis for half a second).
//   - An "or" with a members.value eq side, and members.value eq: the union
//     of its sides, or the user's groups, at most [Store.MaxScan] ids
//     (counted before they are read), in creation order.
//   - Anything else (ne, other nots, co and ew without a trigram index,
//     attributes without an index): a scan of
//     the organization in creation order, checking each document, which fails
//     with resources.TooMany when the organization has more than
//     [Store.MaxScan] resources of the type or the scan would cost more than
//     [Store.MaxFilterWork]. When co and ew comparisons on indexed string
//     attributes narrow the filter (both sides of an "or", a side of an
//     "and"), the scan reads those indexes' entries instead, at most
//     [Store.MaxScan] (counted before they are read), and keeps the ids
//     of the values that hold (or end with) the operand: the scan's answer
//     in the scan's order, the documents read only to check candidates,
//     none at all when the entries decide the filter (narrow.go). Sorted
//     and cursor queries take the same ids instead of every resource.
//
// Streams and scans stop at their next batch when the context ends (the
// client left).
//
// Order: results of an indexed filter come in the order of the key read:
// the index's (the indexed value, then the id), or for groups.value eq and
// groups.display eq the members' display (ASCII lower case), then the id;
// an "or" of different keys in the merge's order (side by side); active,
// a users' meta.created, a "not", members.value eq, an "or" the merge does
// not answer and a scan, in creation order. RFC 7644 §3.4.2.3 leaves the order of unsorted results to the
// provider; this one is stable from page to page while the data does not
// change. Without a filter, results are in creation
// order and a page costs O(log N + count) (ZCARD and ZRANGE on the ordering
// set). Cursor paging (cursor.go) keeps the same order for a filtered,
// unsorted query, a position being the key's member (value, id), tagged
// with the leaf read: an exact single-valued leaf is read from the position
// (ZRANGEBYLEX, or ZREVRANGEBYLEX for the previous page, count+1 members,
// with the ranges' ZLEXCOUNT): O(log N + count) a page, wherever it is; a
// plan driven by a leaf streams the whole leaf as streamPage does, for the
// exact total, keeping the matches next to the position; a merge streams
// the same way, its positions tagged with their side (an active or
// meta.created side's key being its creation score); a "not" of an exact
// plan seeks in the ordering set by creation score, leaving out the plan's
// ids. An active leaf, a users' meta.created leaf, and a plan either
// drives, page by creation score the same ways, their positions being
// creation positions (a user's score is its creation time in
// microseconds, a group's its creation sequence: across resource types,
// at the root, groups come before users). The other plans (scans, an
// "or" the merge does not answer), a query across resource types and a
// cursor they minted keep creation order and collect within MaxScan; a position of one leaf presented to a plan without it is
// invalidCursor. A user's creation position minted before its
// organization's conversion (a sequence, below createdEpoch) is read as
// the user's score now.
//
// sortBy (sort.go) orders ties by id, as the indexes do; a users'
// meta.created is creation order (all:user), whose times are unique.
// Without a filter,
// on an attribute whose index holds every resource, the page is read from
// that index. With a filter whose plan yields at most MaxScan ids, they are
// read, sorted and paged; with more, the sorted attribute's index (when it
// holds every resource) is walked in order, checking the filter on each
// document: for an exact single-valued leaf, whose count is the total, the
// walk stops at the page's end, its documents charged to MaxFilterWork;
// otherwise every document is checked, charged before the first.
//
// A list loads groups' members only when asked to, and then at most
// [Store.MaxListMembers] of them; [Store.ScanMembers] reads one group's
// members in HSCAN batches, for responses that stream them.
//
// # Checking
//
// [Store.Check] verifies an organization against the invariants above
// (indexes, uniqueness hashes, both sides of memberships, ordering sets,
// pending links, administrators' links and sessions, tokens) and reports each
// disagreement as a [Finding]. It reads in batches, each checked by one
// read-only script (check_scripts.go), so that it may run while servers
// write. A change of the key layout changes what it checks: a key of a new
// kind is reported as unknown until the checker knows it.
package backend
