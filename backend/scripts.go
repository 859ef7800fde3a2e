package backend

// Lua scripts. Every write is one script: it reads and checks everything first
// (version, uniqueness, member existence) and returns a marker when a check
// fails; only after the line marked "--@checked" does it write. Redis does not
// roll back a script that fails halfway, so no check may come after a write,
// and the writes are commands that cannot fail on keys of the right type.
//
// Keys not passed in KEYS are built from the organization's prefix
// ("scimd:{org}:"), which carries the hash tag, so on Redis Cluster every key a
// script touches lives in the slot of KEYS[1].

// luaStoredHash reads and writes a user's hash (user:<id>), whose layout
// is made small because there is one per customer:
//
//   - ver, disp, uq as described in the key layout (doc.go);
//   - created, modified: Unix nanoseconds, which a listpack stores as an
//     integer (8 bytes, not a 30-byte time string); modified is absent
//     while it equals created (a user never changed since its creation);
//   - the body, fields "0", "1", ...: the document (packDoc: its key not
//     repeated, and the fragments of a static dictionary coded as single
//     bytes 0x02..0x1f: docFragments in docdict.go, part of this layout
//     for good, only ever appended to),
//     NUL, then the index entries in the compact form of encodeEntries,
//     cut in chunks of at most CHUNK bytes. Redis keeps a hash a listpack
//     (about half the memory of a hash table) only while every value is at
//     most hash-max-listpack-value bytes (64 by default), and a document
//     always is longer. JSON never holds a byte below 0x20 raw (NUL, the
//     codes), nor does an index entry hold NUL. The write script of Go's
//     user writes gets the body built (storedBody) and only stores it
//     (writeBody); a script that writes a document it has in hand
//     (writeDoc: sweeps, purges, an invitation's redemption) packs it
//     itself. Readers (unpackDoc) take documents stored before the
//     dictionary too.
//
// A user's key is the value of its first userName index entry (its
// userName in lower case, often its email too): the body holds it once,
// in that entry, and stands for it elsewhere.
//
// Users written by earlier versions, and groups, are read as they are:
// times as strings (tsFormat), a field uk (a user's key of the uniqueness
// hash that userNames once had, see legacyKeys), and doc and ix (a JSON
// flat list attr, value, ...) whole in fields "doc" and "ix", or in
// chunks "doc.0", "doc.1", ..., "ix.0", .... A user's next write
// (writeDoc) stores the body and drops those fields.
const luaStoredHash = `
-- No globals at the top level, and top-level locals are constants: see luaCommon.
local CHUNK = 63 -- the longest string a listpack stores with a 1-byte header
local NUL = '\0'

-- civil returns year, month, day of the day days after 1970-01-01
-- (proleptic Gregorian calendar, days >= 0).
local function civil(days)
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp + 3
  if mp >= 10 then m = mp - 9 end
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m, d
end

-- timeString returns a stored time as the indexes hold it (tsFormat):
-- Unix nanoseconds are converted, a time string (older users, groups) is
-- returned as it is, and so is nil.
local function timeString(v)
  if type(v) ~= 'string' or not string.match(v, '^%d+$') then return v end
  if #v < 10 then v = string.rep('0', 10 - #v) .. v end
  local secs = tonumber(string.sub(v, 1, -10))
  local days = math.floor(secs / 86400)
  local rest = secs - days * 86400
  local y, m, d = civil(days)
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%sZ', y, m, d,
    math.floor(rest / 3600), math.floor(rest % 3600 / 60), rest % 60, string.sub(v, -9))
end

-- timeNanos returns a time string (tsFormat) as Unix nanoseconds, the form
-- a user's hash stores; anything else as it is.
local function timeNanos(s)
  local y, mo, d, h, mi, se, frac = string.match(s or '', '^(%d%d%d%d)-(%d%d)-(%d%d)T(%d%d):(%d%d):(%d%d)%.(%d%d%d%d%d%d%d%d%d)Z$')
  if not y then return s end
  y, mo = tonumber(y), tonumber(mo)
  if mo <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = mo - 3
  if mo <= 2 then mp = mo + 9 end
  local doy = math.floor((153 * mp + 2) / 5) + tonumber(d) - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  local secs = days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(se)
  if secs <= 0 then return s end
  return string.format('%d', secs) .. frac
end

-- splitNul returns the parts of s between NUL bytes, empty ones included.
local function splitNul(s)
  local out, from = {}, 1
  while true do
    local at = string.find(s, NUL, from, true)
    if not at then
      out[#out + 1] = string.sub(s, from)
      return out
    end
    out[#out + 1] = string.sub(s, from, at - 1)
    from = at + 1
  end
end

-- ENTRY_CODES are the attributes whose name a user's stored index entries
-- hold as a number, their position here from 0 (entryCodes in Go): stored
-- in every user, so never changed or reordered, only appended to.
local ENTRY_CODES = {'userName', 'externalId', 'emails.value', 'name.givenName',
  'name.familyName', 'displayName', 'active'}
local ENTRY_CODE = {}
for i = 1, #ENTRY_CODES do ENTRY_CODE[ENTRY_CODES[i]] = '' .. (i - 1) end

-- encodeEntries returns index entries (a flat list attr, value, ...) in
-- their compact form: parts joined by NUL, each entry an attribute part
-- then a value part. The attribute part is "" when it is the previous
-- entry's attribute (the trigrams of one attribute, the values of a
-- multi-valued one), else the attribute's name, whose start up to a "#"
-- (a trigram index's suffix) is replaced by its number in ENTRY_CODES if
-- it has one; no other name starts with a digit. After the first userName
-- entry, written in full, an entry whose value is that one's (the user's
-- key, see above) ends its attribute part with "=" in place of a value
-- part: no name ends with "=".
local function encodeEntries(entries)
  local parts, prev, key = {}, nil, nil
  for i = 1, #entries, 2 do
    local attr, value = entries[i], entries[i + 1]
    local part = ''
    if attr ~= prev then
      part = ENTRY_CODE[attr] or attr
      local at = part == attr and string.find(attr, '#', 1, true)
      if at and ENTRY_CODE[string.sub(attr, 1, at - 1)] then
        part = ENTRY_CODE[string.sub(attr, 1, at - 1)] .. string.sub(attr, at)
      end
    end
    prev = attr
    if key and value == key then
      parts[#parts + 1] = part .. '='
    else
      parts[#parts + 1] = part
      parts[#parts + 1] = value
      if not key and attr == 'userName' then key = value end
    end
  end
  return table.concat(parts, NUL)
end

-- decodeEntries is encodeEntries' inverse: the flat list and the user's
-- key ('' when it has no userName entry), or nil when s is not in that
-- form.
local function decodeEntries(s)
  local out, key = {}, nil
  if s == '' then return out, '' end
  local parts = splitNul(s)
  local attr, i = nil, 1
  while i <= #parts do
    local part = parts[i]
    local ref = string.sub(part, -1) == '='
    if ref then part = string.sub(part, 1, -2) end
    local code, suffix = string.match(part, '^(%d+)(.*)$')
    if code then
      if not ENTRY_CODES[tonumber(code) + 1] then return nil end
      attr = ENTRY_CODES[tonumber(code) + 1] .. suffix
    elseif part ~= '' then
      attr = part
    end
    if not attr then return nil end
    out[#out + 1] = attr
    if ref then
      if not key then return nil end
      out[#out + 1] = key
      i = i + 1
    else
      if i + 1 > #parts then return nil end
      out[#out + 1] = parts[i + 1]
      if not key and attr == 'userName' then key = parts[i + 1] end
      i = i + 2
    end
  end
  return out, key or ''
end

-- entriesKey returns the user's key of index entries (a flat list): the
-- value of the first userName entry, '' when there is none.
local function entriesKey(entries)
  for i = 1, #entries, 2 do
    if entries[i] == 'userName' then return entries[i + 1] end
  end
  return ''
end

-- KEYREF stands for the user's key in a stored document (see packDoc).
local KEYREF = '\1'

-- replacePlain returns s with each occurrence of the text what replaced
-- by with.
local function replacePlain(s, what, with)
  local parts, from = {}, 1
  while true do
    local at = string.find(s, what, from, true)
    if not at then break end
    parts[#parts + 1] = string.sub(s, from, at - 1)
    from = at + #what
  end
  if #parts == 0 then return s end
  parts[#parts + 1] = string.sub(s, from)
  return table.concat(parts, with)
end

-- docDict maps each code of the dictionary (docFragments in Go) to its
-- fragment, and docOrder lists the codes, their fragments longest first,
-- once a script needs them (docCodes).
local docDict, docOrder

-- docCodes returns docDict and docOrder, built from the text of
-- docFragments.
local function docCodes()
  if not docDict then
    docDict, docOrder = {}, {}
    local code = 2
    for f in string.gmatch([==[` + docFragments + `]==], '[^\n]+') do
      docDict[string.char(code)] = f
      docOrder[#docOrder + 1] = string.char(code)
      code = code + 1
    end
    table.sort(docOrder, function(a, b)
      if #docDict[a] ~= #docDict[b] then return #docDict[a] > #docDict[b] end
      return a < b
    end)
  end
  return docDict, docOrder
end

-- packDoc returns a user's document with each occurrence of its key (see
-- above; its email, often twice) replaced by the byte KEYREF, then each
-- fragment of the dictionary by its code, longest fragments first (not
-- the longest match at each position, as Go's packDoc: both decode the
-- same). JSON never holds those bytes raw; unpackDoc undoes it. A document
-- that holds one anyway is not coded.
local function packDoc(doc, key)
  if string.find(doc, '[\1-\31]') then return doc end
  if key ~= '' and not string.find(key, KEYREF, 1, true) then doc = replacePlain(doc, key, KEYREF) end
  local dict, order = docCodes()
  for _, code in ipairs(order) do doc = replacePlain(doc, dict[code], code) end
  return doc
end

-- unpackDoc returns a stored document with each code of the dictionary
-- replaced by its fragment (see docFragments in Go), then each KEYREF by
-- the user's key key; a document without them as it is.
local function unpackDoc(doc, key)
  if not string.find(doc, '[\1-\31]') then return doc end
  if string.find(doc, '[\2-\31]') then doc = string.gsub(doc, '[\2-\31]', (docCodes())) end
  if not string.find(doc, KEYREF, 1, true) then return doc end
  return (string.gsub(doc, KEYREF, function() return key end))
end

-- joinChunks returns the chunks of h named name .. 0, name .. 1, ...
-- joined, and how many there are (0: none).
local function joinChunks(h, name)
  local parts, n = {}, 0
  while h[name .. n] do
    parts[n + 1] = h[name .. n]
    n = n + 1
  end
  return table.concat(parts), n
end

-- readHash reads a resource's hash into a table field -> value, whatever
-- its layout (see above): doc whole, uk (an earlier layout's), disp, ver,
-- created and modified (time strings), uq, and entries, its index entries
-- as a flat list attr, value, ... ({} when it has none, false when they
-- do not decode), and '#fields', its fields' names as stored. An absent
-- resource is a table without ver.
local function readHash(key)
  local flat = redis.call('HGETALL', key)
  local h, names = {}, {}
  for i = 1, #flat, 2 do
    h[flat[i]] = flat[i + 1]
    names[#names + 1] = flat[i]
  end
  if h['0'] then
    local body = joinChunks(h, '')
    local at = string.find(body, NUL, 1, true) or (#body + 1)
    local entries, key = decodeEntries(string.sub(body, at + 1))
    h.doc, h.entries = unpackDoc(string.sub(body, 1, at - 1), key or ''), entries or false
  else
    if h['doc.0'] then h.doc = joinChunks(h, 'doc.') end
    if h['ix.0'] then h.ix = joinChunks(h, 'ix.') end
    h.entries = {}
    if h.ix then
      local ok, v = pcall(cjson.decode, h.ix)
      if ok and type(v) == 'table' then h.entries = v else h.entries = false end
    end
  end
  h.ix = nil
  h.created = timeString(h.created)
  h.modified = timeString(h.modified) or h.created
  h['#fields'] = names
  return h
end

-- storedEntries returns the index entries of h (read by readHash), failing
-- the script when they do not decode: a write must not forget entries.
local function storedEntries(h)
  if h.entries == false then error('the stored index entries do not decode') end
  return h.entries
end

-- lastArgs returns the last n of a script's arguments argv: a user's body
-- as Go builds it (storedBody), in chunks. argv is passed, not read as the
-- global ARGV: a function of the library has no such global (library.go).
local function lastArgs(argv, n)
  return {unpack(argv, #argv - n + 1, #argv)}
end

-- writeBody stores a user's body, already in chunks (a list), its display
-- disp, and the other fields of args (field, value, ...), over what h (its
-- hash read by readHash) held: fields of an earlier layout go.
local function writeBody(key, h, chunks, disp, args)
  local a = #args
  args[a + 1], args[a + 2] = 'disp', disp
  a = a + 2
  for n = 1, #chunks do
    args[a + 1], args[a + 2] = tostring(n - 1), chunks[n]
    a = a + 2
  end
  redis.call('HSET', key, unpack(args))
  local names = h['#fields']
  if not names or #names == 0 then return end
  local gone = {}
  for _, f in ipairs(names) do
    if f == 'uk' or f == 'doc' or f == 'ix' or (string.match(f, '^%d+$') and tonumber(f) >= #chunks)
        or string.match(f, '^doc%.%d+$') or string.match(f, '^ix%.%d+$') then
      gone[#gone + 1] = f
    end
  end
  if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
end

-- writeDoc is writeBody for a document doc and index entries (a flat
-- list) a script has in hand: its body is built here.
local function writeDoc(key, h, doc, entries, disp, args)
  local body = packDoc(doc, entriesKey(entries)) .. NUL .. encodeEntries(entries)
  local chunks, n = {}, 0
  repeat
    chunks[n + 1] = string.sub(body, n * CHUNK + 1, (n + 1) * CHUNK)
    n = n + 1
  until n * CHUNK >= #body
  writeBody(key, h, chunks, disp, args)
end
`

// luaUserGroups reads a user's groups. A group's rename is a new version of
// each of its members (their "groups" show its name), yet writes none of
// them, so that a rename costs O(1) whatever the group's size: a group counts
// its renames (field "renames" of group:<id>), each membership keeps the count
// at which it began (ugroups:<userId> groupId -> count), and a user's version
// as clients see it (its ETag) is its stored version plus the renames of its
// groups since it joined them. A group's name is read from the group.
const luaUserGroups = luaStoredHash + `
-- count reads a count as renamedSince in Go does: up to 15 digits, else 0
-- (a base written before memberships kept one was a display name).
local function count(v)
  if type(v) == 'number' then return v end
  if type(v) ~= 'string' or #v > 15 or not string.match(v, '^%d+$') then return 0 end
  return tonumber(v)
end

-- renamedSince returns how often a group renamed renames times in all was
-- renamed since a membership that began at count base.
local function renamedSince(renames, base)
  local d = count(renames) - count(base)
  if d > 0 then return d end
  return 0
end

-- userGroups returns what a user's groups add to its stored version, and
-- its groups as a flat list id, displayName: O(its groups). A membership of
-- a deleted group whose sweep is pending (see deleteGroupSrc) is no group,
-- yet adds what the sweep will fold into the stored version (its renames
-- since, and 1 for leaving), so that the version clients see changes when
-- the group is deleted and stays the same when the sweep ends. So does a
-- membership of a group whose members were replaced without this user
-- (field "replacing" of group:<id>, see writeGroupSrc), ended by its sweep.
local function userGroups(prefix, id)
  local ug = redis.call('HGETALL', prefix .. 'ugroups:' .. id)
  local extra, flat = 0, {}
  for i = 1, #ug, 2 do
    local g = redis.call('HMGET', prefix .. 'group:' .. ug[i], 'disp', 'renames', 'replacing')
    if g[1] and g[3] and redis.call('HEXISTS', prefix .. 'members:' .. ug[i], id) == 0 then
      extra = extra + renamedSince(g[3], ug[i+1]) + 1
    elseif g[1] then
      extra = extra + renamedSince(g[2], ug[i+1])
      flat[#flat + 1] = ug[i]
      flat[#flat + 1] = g[1]
    else
      local final = redis.call('HGET', prefix .. 'leaving', ug[i])
      if final then extra = extra + renamedSince(final, ug[i+1]) + 1 end
    end
  end
  return extra, flat
end

-- userVersion returns the version clients see of a user whose stored version
-- is ver (nil: no user).
local function userVersion(prefix, id, ver)
  if not ver then return nil end
  return tonumber(ver) + (userGroups(prefix, id))
end
`

// luaCommon is prepended to every write script.
//
// Its top level (and that of every piece a script begins with: luaStoredHash,
// luaUserGroups, luaOrderKey, luaSearch, luaAdmin) runs once, when Redis
// loads the store's function library (library.go), in an environment with
// no globals: no string, math, ipairs, tostring there, only literals and
// plain Lua ("\0", numeric for loops, "" .. n); function bodies may use
// any. Its top-level locals are shared by every call: never change them.
const luaCommon = luaUserGroups + luaOrderKey + luaUserNames + `
local SEP = '\1'

-- Scores and counts go to redis.call as strings ('0', not 0): Redis
-- turns a Lua number argument into text with snprintf("%.17g"), about
-- 0.3 µs each, and a creation makes some ten such calls.

-- setMember makes user uid a member of group gid shown as d (nil: no
-- member), in members:<gid> and, in step, in the members' order
-- morder:<gid> (see member_pages.go). Returns whether uid was a member.
local function setMember(prefix, gid, uid, d)
  local mk, ok = prefix .. 'members:' .. gid, prefix .. 'morder:' .. gid
  local old = redis.call('HGET', mk, uid)
  if old and old == d then return true end
  if old then redis.call('ZREM', ok, orderKey(old, uid)) end
  if d then
    redis.call('HSET', mk, uid, d)
    redis.call('ZADD', ok, '0', orderKey(d, uid))
  elseif old then
    redis.call('HDEL', mk, uid)
  end
  return old ~= false and old ~= nil
end

-- touch bumps a resource's version and lastModified (hash field and index;
-- a user's as luaStoredHash stores times: nanos, now in Unix nanoseconds,
-- when the caller has it, else timeNanos(now)).
local function touch(prefix, kind, id, now, nanos)
  local key = prefix .. kind .. ':' .. id
  local ix = prefix .. 'ix:' .. kind .. ':meta.lastModified'
  local t = redis.call('HMGET', key, 'modified', 'created')
  local old = timeString(t[1] or t[2] or nil)
  if old then redis.call('ZREM', ix, old .. NUL .. id) end
  redis.call('ZADD', ix, '0', now .. NUL .. id)
  if kind == 'user' then
    redis.call('HSET', key, 'modified', nanos or timeNanos(now))
  else
    redis.call('HSET', key, 'modified', now)
  end
  return redis.call('HINCRBY', key, 'ver', '1')
end

-- leaveGroup ends user uid's membership of group gid, which was renamed
-- renames times, folding the renames since the membership began into the
-- user's stored version, so that the version clients see still grows.
-- Returns whether the user was a member.
local function leaveGroup(prefix, uid, gid, renames, now)
  local ug = prefix .. 'ugroups:' .. uid
  local base = redis.call('HGET', ug, gid)
  if not base then return false end
  redis.call('HDEL', ug, gid)
  touch(prefix, 'user', uid, now)
  local d = renamedSince(renames, base)
  if d > 0 then redis.call('HINCRBY', prefix .. 'user:' .. uid, 'ver', d) end
  return true
end

-- setIndex moves a resource's filter index entries from old to new, both
-- flat lists attr, value, attr, value, ...
local function setIndex(prefix, kind, id, old, new)
  if #old == 0 then
    -- A creation: no entry to compare with.
    for i = 1, #new, 2 do
      redis.call('ZADD', prefix .. 'ix:' .. kind .. ':' .. new[i], '0', new[i+1] .. NUL .. id)
    end
    return
  end
  local keep, had = {}, {}
  for i = 1, #new, 2 do keep[new[i] .. SEP .. new[i+1]] = true end
  for i = 1, #old, 2 do
    local k = old[i] .. SEP .. old[i+1]
    had[k] = true
    if not keep[k] then
      redis.call('ZREM', prefix .. 'ix:' .. kind .. ':' .. old[i], old[i+1] .. NUL .. id)
    end
  end
  for i = 1, #new, 2 do
    if not had[new[i] .. SEP .. new[i+1]] then
      redis.call('ZADD', prefix .. 'ix:' .. kind .. ':' .. new[i], '0', new[i+1] .. NUL .. id)
    end
  end
end

-- audit appends one entry to the organization's change log, a stream capped
-- at about maxlen entries (MAXLEN ~ trims whole radix-tree nodes: cheap). It
-- runs in the script of the change it records, so the two are atomic.
local function audit(prefix, maxlen, who, action, rtype, id, now)
  redis.call('XADD', prefix .. 'changes', 'MAXLEN', '~', maxlen, '*',
    'time', now, 'who', who, 'action', action, 'type', rtype, 'id', id)
end

-- versionFault is the marker of a write that expects version expect (0: a
-- creation) of a resource whose stored version is ver (nil: none), or nil
-- when they fit.
local function versionFault(ver, expect)
  if expect == 0 then
    if ver then return 'exists' end
  elseif not ver then
    return 'notfound'
  elseif tonumber(ver) ~= expect then
    return 'conflict'
  end
end

-- uniqueFault is 'taken' when the unique key uk of the hash belongs to
-- another resource than id, else nil ("" is no key).
local function uniqueFault(hash, uk, id)
  if uk == '' then return nil end
  local owner = redis.call('HGET', hash, uk)
  if owner and owner ~= id then return 'taken' end
end

-- indexedFault is 'taken' when the lexicographic index ix (members "value
-- NUL id") holds value v for another resource than id, else nil ("" is no
-- value): the uniqueness an index keeps (a user's userName, folded).
local function indexedFault(ix, v, id)
  if v == '' then return nil end
  for _, m in ipairs(redis.call('ZRANGEBYLEX', ix, '[' .. v .. NUL, '(' .. v .. SEP, 'LIMIT', '0', '2')) do
    if string.sub(m, #v + 2) ~= id then return 'taken' end
  end
end

-- setActive keeps user id's entry in inactive:user (active.go): none when
-- its active is 'true', its score in the ordering set seq (a string: Lua's
-- numbers print with 14 digits) when 'false', minus it otherwise (no
-- active). A user just created (fresh) has no entry yet; seq is false for a
-- user out of the ordering set (none is written).
local function setActive(prefix, id, seq, state, fresh)
  local key = prefix .. 'inactive:user'
  if state == 'true' then
    if not fresh then redis.call('ZREM', key, id) end
  elseif seq then
    if state == 'false' then redis.call('ZADD', key, seq, id) else redis.call('ZADD', key, '-' .. seq, id) end
  end
end

-- updateActive sets an existing user's entry in inactive:user to state,
-- as setActive does.
local function updateActive(prefix, id, state)
  local seq = false
  if state ~= 'true' then seq = redis.call('ZSCORE', prefix .. 'all:user', id) or false end
  setActive(prefix, id, seq, state, false)
end

-- endLinks deletes a user's pending invitation (or password reset) and
-- self-registration confirmation.
local function endLinks(prefix, id)
  for _, kind in ipairs({'invite', 'confirm'}) do
    local current = prefix .. 'u' .. kind .. ':' .. id
    local hash = redis.call('GET', current)
    if hash then redis.call('DEL', prefix .. kind .. ':' .. hash, current) end
  end
end

-- luaClaims: a user's values of custom attributes with uniqueness
-- "server" are claims, a flat list attr, key, ...: the hash
-- unique:user:<attr> maps each key to the user holding it, and the user's
-- field "uq" keeps its claims (JSON) to release them when they change.

-- claimFault returns the attr of the first claim another user holds.
local function claimFault(prefix, claims, id)
  for i = 1, #claims, 2 do
    local owner = redis.call('HGET', prefix .. 'unique:user:' .. claims[i], claims[i+1])
    if owner and owner ~= id then return claims[i] end
  end
end

-- setClaims moves user id's claims from old (JSON or false) to new (raw:
-- its JSON), releasing only what the user holds.
local function setClaims(prefix, id, old, new, raw)
  local keep = {}
  for i = 1, #new, 2 do keep[new[i] .. SEP .. new[i+1]] = true end
  if old and old ~= '' then
    local o = cjson.decode(old)
    for i = 1, #o, 2 do
      local h = prefix .. 'unique:user:' .. o[i]
      if not keep[o[i] .. SEP .. o[i+1]] and redis.call('HGET', h, o[i+1]) == id then redis.call('HDEL', h, o[i+1]) end
    end
  end
  for i = 1, #new, 2 do redis.call('HSET', prefix .. 'unique:user:' .. new[i], new[i+1], id) end
  if #new > 0 then
    redis.call('HSET', prefix .. 'user:' .. id, 'uq', raw)
  elseif old then
    redis.call('HDEL', prefix .. 'user:' .. id, 'uq')
  end
end

local function sortedKeys(key)
  local ks = redis.call('HKEYS', key)
  table.sort(ks)
  return ks
end
`

// writeUserSrc creates (expected version 0) or replaces a user.
//
// KEYS: 1 user, 2 password, 3 the userName index (which keeps userNames
// unique until the userName hashes are ready: see indexedFault), 4
// ordering set, 5 the earlier layout's index of meta.created (written by a
// creation while it exists: see legacyCreatedIndex), 6 user's groups (read
// through userGroups), 7 the userName hash of ARGV 5 (usernames.go).
// ARGV: 1 prefix, 2 id, 3 expected version, 4 n, the number of chunks of
// the user's body (see luaStoredHash; built in Go: storedBody), which are
// the script's last n arguments, 5 unique key (lowercase
// userName, as indexed; "" for none), 6 display, 7 now, 8 password hash ("" keeps it),
// 9 m, the number of arguments that hold the index entries (a flat list
// attr, value, ...: ARGV 20 to 19 + m, each its own argument, which
// costs Redis less than decoding JSON), 10 actor, 11 action, 12 change
// log cap, 13 "1" to end the user's pending invitation and confirmation
// links, "2" to end them and its sessions and tickets too (a disable: the
// user's field offs counts them, see [Store.SignInStamp]), "0" neither, 14 the claims of custom unique attributes (JSON flat list attr,
// key; see luaClaims), 15 the generation of the organization's custom
// attribute definitions the document was checked against ("" when it has
// none), 16 its active, "true", "false" or "" (none: see activeState), 17
// "1" when the organization may still have KEYS 5, 18 now in Unix
// nanoseconds (the same instant as 7, as luaStoredHash stores times), 19
// "1" when the organization's userName hashes hold every user (they then
// keep userNames unique: HSETNX, the first write).
// A creation's time is now to the microsecond, or a microsecond after the
// last user's if that is not before (created.go): the user's score in the
// ordering set, its meta.created and meta.lastModified.
// Returns {"ok", version, created, groups (flat id, display)} or {marker}
// ({"takenx", attr} for a custom unique attribute, {"stale"} for a
// generation that is no longer current).
const writeUserSrc = luaCommon + `
local prefix, id, expect, uk, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[5], ARGV[7]
if ARGV[15] ~= '' and (redis.call('GET', prefix .. 'exts:gen') or '0') ~= ARGV[15] then return {'stale'} end
-- A creation's user is not there: EXISTS costs Redis less than HGETALL's
-- empty answer, and its hash is read as any other's only when it is.
local cur = {entries = {}}
if expect ~= 0 or redis.call('EXISTS', KEYS[1]) == 1 then cur = readHash(KEYS[1]) end
local extra, groups = 0, {}
if cur.ver then extra, groups = userGroups(prefix, id) end
local named = ARGV[19] == '1'
local new = {}
for i = 1, tonumber(ARGV[9]) do new[i] = ARGV[19 + i] end
local old = storedEntries(cur)
local olduk = entriesKey(old)
local fault = versionFault(cur.ver and tonumber(cur.ver) + extra, expect)
if not fault and not named then fault = indexedFault(KEYS[3], uk, id) end
if fault then return {fault} end
local claims = {}
if ARGV[14] ~= '[]' then claims = cjson.decode(ARGV[14]) end
local taken = claimFault(prefix, claims, id)
if taken then return {'takenx', taken} end
--@checked
-- The userName's entry: when the hashes keep uniqueness, HSETNX is the
-- first write, so that a userName taken ends the script with nothing
-- written.
if uk ~= '' and (uk ~= olduk or not named) then
  if named and redis.call('HSETNX', KEYS[7], uk, id) == 0 and redis.call('HGET', KEYS[7], uk) ~= id then
    return {'taken'}
  end
  if not named then redis.call('HSET', KEYS[7], uk, id) end
end
if olduk ~= '' and olduk ~= uk then
  local k = userNameKey(prefix, olduk)
  if redis.call('HGET', k, olduk) == id then redis.call('HDEL', k, olduk) end
end
if #claims > 0 or cur.uq then setClaims(prefix, id, cur.uq, claims, ARGV[14]) end
if expect == 0 then
  -- A creation touches the fewest keys, each once: every Redis call in a
  -- script costs, and creation is what provisioning runs do most.
  setIndex(prefix, 'user', id, old, new)
  -- now's microsecond (ARGV 18 without its last 3 digits), unless a user
  -- has a score at or after it: this range is empty (Redis formats no
  -- score) but then, and the time is the last user's plus 1.
  if not named and redis.call('ZCARD', KEYS[4]) == 0 then
    -- The organization's first user: its userName hashes are complete.
    redis.call('SET', prefix .. 'unames:ready', '1')
  end
  local score = string.sub(ARGV[18], 1, -4)
  local created = string.sub(now, 1, 20) .. string.sub(score, -6) .. '000Z'
  local last = redis.call('ZREVRANGEBYSCORE', KEYS[4], '+inf', score, 'WITHSCORES', 'LIMIT', '0', '1')[2]
  if last then
    score = string.format('%.0f', tonumber(last) + 1)
    created = timeString(score .. '000')
  end
  redis.call('ZADD', KEYS[4], score, id)
  setActive(prefix, id, score, ARGV[16], true)
  if ARGV[17] == '1' and redis.call('EXISTS', KEYS[5]) == 1 then
    redis.call('ZADD', KEYS[5], '0', created .. NUL .. id)
  end
  redis.call('ZADD', prefix .. 'ix:user:meta.lastModified', '0', created .. NUL .. id)
  writeBody(KEYS[1], cur, lastArgs(ARGV, tonumber(ARGV[4])), ARGV[6], {'ver', '1', 'created', score .. '000'})
  if ARGV[8] ~= '' then redis.call('SET', KEYS[2], ARGV[8]) end
  audit(prefix, ARGV[12], ARGV[10], ARGV[11], 'User', id, now)
  return {'ok', 1, created, {}}
end
local created = cur.created
setIndex(prefix, 'user', id, old, new)
updateActive(prefix, id, ARGV[16])
local ver = touch(prefix, 'user', id, now, ARGV[18]) + extra
writeBody(KEYS[1], cur, lastArgs(ARGV, tonumber(ARGV[4])), ARGV[6], {})
if ARGV[8] ~= '' then redis.call('SET', KEYS[2], ARGV[8]) end
if cur.disp ~= ARGV[6] then
  -- The groups show the new display in their members: a new version each.
  for i = 1, #groups, 2 do
    setMember(prefix, groups[i], id, ARGV[6])
    touch(prefix, 'group', groups[i], now)
  end
end
if ARGV[13] ~= '0' then endLinks(prefix, id) end
if ARGV[13] == '2' then redis.call('HINCRBY', KEYS[1], 'offs', 1) end
audit(prefix, ARGV[12], ARGV[10], ARGV[11], 'User', id, now)
return {'ok', ver, created, groups}
`

// deleteUserSrc deletes a user.
//
// KEYS: 1 user, 2 password, 3 ordering set, 4 user's groups.
// ARGV: 1 prefix, 2 id, 3 expected version (0: any), 4 now, 5 actor, 6 change
// log cap.
// Returns {"ok"} or {marker}.
const deleteUserSrc = luaCommon + `
local prefix, id, expect, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local cur = readHash(KEYS[1])
if not cur.ver then return {'notfound'} end
if expect ~= 0 and userVersion(prefix, id, cur.ver) ~= expect then return {'conflict'} end
local old = storedEntries(cur)
--@checked
setClaims(prefix, id, cur.uq, {}, '[]')
local uk = entriesKey(old)
if uk ~= '' then
  local k = userNameKey(prefix, uk)
  if redis.call('HGET', k, uk) == id then redis.call('HDEL', k, uk) end
end
for _, gid in ipairs(sortedKeys(KEYS[4])) do
  -- A membership a replacement left to its sweep (see writeGroupSrc) is no
  -- longer among the group's members: the group does not change.
  if setMember(prefix, gid, id, nil) and redis.call('EXISTS', prefix .. 'group:' .. gid) == 1 then
    touch(prefix, 'group', gid, now)
  end
end
setIndex(prefix, 'user', id, old, {})
if cur.created then redis.call('ZREM', prefix .. 'ix:user:meta.created', cur.created .. NUL .. id) end
if cur.modified then redis.call('ZREM', prefix .. 'ix:user:meta.lastModified', cur.modified .. NUL .. id) end
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', prefix .. 'inactive:user', id)
redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])
-- The user's pending invitation or confirmation goes with it.
endLinks(prefix, id)
audit(prefix, ARGV[6], ARGV[5], 'delete', 'User', id, now)
return {'ok'}
`

// writeGroupSrc creates (expected version 0) or updates a group and applies a
// membership delta: remove all, then remove, then add.
//
// KEYS: 1 group, 2 unique displayName, 3 ordering set, 4 sequence, 5 members.
// ARGV: 1 prefix, 2 id, 3 expected version, 4 doc, 5 unique key (lowercase
// displayName), 6 displayName, 7 now, 8 index entries (JSON), 9 remove all
// ("1"/"0"), 10 remove (JSON ids), 11 add (JSON ids), 12 "members" to apply
// only the membership delta to an existing group, whatever its version, leaving
// its document as it is (ARGV 3-6 and 8 are then ignored), or "document" to
// update a group whose stored document is still ARGV 16, whatever its
// version (membership changes do not change the document), 13 actor, 14
// action, 15 change log cap, 16 the document a "document" write expects, 17
// the most groups a user may be in ("0": no bound): a member added beyond
// it is refused ({"toomanygroups", user id, the bound}).
// A write that changes nothing (the same document, members added that were
// members already, removed that were not) leaves the version, lastModified
// and the change log alone.
//
// Remove all does not read the current members, so that the script costs
// what the request holds, not what the group holds: members:<id> becomes
// replacing:<id> (RENAME, O(1)), the members added make a new members:<id>,
// and the old members that were not added again are left for
// sweepReplacedSrc, which ends their memberships in bounded batches. Until
// it has, the group's field "replacing" holds its rename count before this
// write and the organization's set "replacing" lists it; those users are
// out of the group's members and out of their groups at once (luaUserGroups
// skips a membership of a group being replaced that members:<id> lacks),
// and their versions count the leaving. Every write of the group, and its
// deletion, answers {"pending"} meanwhile: the caller finishes the sweep
// and writes again, so that a group has one replacement pending at most and
// is never renamed during one.
// Returns {"ok", version, created, added (flat id, display), modified, "1"
// when old members are left to sweep, else "0"} or {marker, ...}.
const writeGroupSrc = luaCommon + `
local prefix, id, expect, uk, name, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[5], ARGV[6], ARGV[7]
local cur = redis.call('HMGET', KEYS[1], 'ver', 'uk', 'disp', 'ix', 'created', 'doc', 'modified', 'renames', 'replacing')
if cur[9] then return {'pending'} end
local renames = count(cur[8])
local membersOnly = ARGV[12] == 'members'
local fault
if membersOnly then
  if not cur[1] then return {'notfound'} end
  uk, name = cur[2] or '', cur[3] or ''
elseif ARGV[12] == 'document' then
  if not cur[1] then return {'notfound'} end
  if cur[6] ~= ARGV[16] then fault = 'conflict' end
else
  fault = versionFault(cur[1], expect)
  -- A group deleted with this id whose members are still being swept
  -- (deleteGroupSrc) holds the id until the sweep ends.
  if expect == 0 and redis.call('HEXISTS', prefix .. 'leaving', id) == 1 then fault = 'exists' end
end
fault = fault or uniqueFault(KEYS[2], uk, id)
if fault then return {fault} end
local add = cjson.decode(ARGV[11])
local remove = cjson.decode(ARGV[10])
local disp = {}
for i, uid in ipairs(add) do
  local d = redis.call('HGET', prefix .. 'user:' .. uid, 'disp')
  if not d then
    if redis.call('EXISTS', prefix .. 'group:' .. uid) == 1 then return {'groupmember', uid} end
    return {'nomember', uid}
  end
  -- A user's groups are read with it, and written with its every change:
  -- their number is bounded (HLEN is O(1)).
  local ug = prefix .. 'ugroups:' .. uid
  if ARGV[17] ~= '0' and redis.call('HLEN', ug) >= tonumber(ARGV[17]) and redis.call('HEXISTS', ug, id) == 0 then
    return {'toomanygroups', uid, ARGV[17]}
  end
  disp[i] = d
end
local old = {}
if cur[4] then old = cjson.decode(cur[4]) end
local new = old
if not membersOnly then new = cjson.decode(ARGV[8]) end
--@checked
local created = cur[5] or now
local changed = not membersOnly and (expect == 0 or cur[6] ~= ARGV[4])
if cur[2] and cur[2] ~= uk and redis.call('HGET', KEYS[2], cur[2]) == id then
  redis.call('HDEL', KEYS[2], cur[2])
end
if uk ~= '' then redis.call('HSET', KEYS[2], uk, id) end
setIndex(prefix, 'group', id, old, new)
if expect == 0 and not membersOnly then
  redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[4]), id)
  redis.call('ZADD', prefix .. 'ix:group:meta.created', 0, now .. NUL .. id)
  redis.call('HSET', KEYS[1], 'created', now)
end
-- Remove all, then add: only the members not added again leave, in the
-- sweep (see above).
local replaced = prefix .. 'replacing:' .. id
local replacing = ARGV[9] == '1' and redis.call('EXISTS', KEYS[5]) == 1
local before = renames
if replacing then
  redis.call('RENAME', KEYS[5], replaced)
  redis.call('UNLINK', prefix .. 'morder:' .. id) -- O(1): freed in the background
end
-- A user whose groups change (joined, left, renamed) gets a new version:
-- its "groups" attribute is part of what its ETag stands for. A rename
-- gives every member a new version through the group's rename count (see
-- luaUserGroups): O(1), whatever the group's size.
for _, uid in ipairs(remove) do
  if setMember(prefix, id, uid, nil) then changed = true end
  leaveGroup(prefix, uid, id, renames, now)
end
if cur[3] and cur[3] ~= name then
  renames = redis.call('HINCRBY', KEYS[1], 'renames', 1)
end
local added, kept = {}, 0
for i, uid in ipairs(add) do
  local joined = not setMember(prefix, id, uid, disp[i])
  if replacing then joined = redis.call('HEXISTS', replaced, uid) == 0 end
  if joined then changed = true elseif replacing then kept = kept + 1 end
  -- A member added again keeps its membership, and the count it began at.
  if redis.call('HSETNX', prefix .. 'ugroups:' .. uid, id, renames) == 1 then touch(prefix, 'user', uid, now) end
  added[#added + 1] = uid
  added[#added + 1] = disp[i]
end
local sweep = '0'
if replacing then
  if kept == redis.call('HLEN', replaced) then
    -- Every member stayed: nothing to sweep. UNLINK frees in the background.
    redis.call('UNLINK', replaced)
  else
    changed, sweep = true, '1'
    redis.call('HSET', KEYS[1], 'replacing', before)
    redis.call('SADD', prefix .. 'replacing', id)
  end
end
if not changed then return {'ok', tonumber(cur[1]), created, added, cur[7], sweep} end
local ver = touch(prefix, 'group', id, now)
if not membersOnly then
  redis.call('HSET', KEYS[1], 'doc', ARGV[4], 'uk', uk, 'disp', name, 'ix', ARGV[8])
end
audit(prefix, ARGV[15], ARGV[13], ARGV[14], 'Group', id, now)
return {'ok', ver, created, added, now, sweep}
`

// deleteGroupSrc deletes a group: in O(1) whatever its size, it makes the
// group gone for every reader and writer (document, uniqueness entry,
// indexes, ordering set, change log entry) and hands its members to a sweep.
// It renames members:<id> to leaving:<id> and records the group's final
// rename count under its id in the organization's hash "leaving" (the
// deletions being swept); sweepGroupSrc then ends the memberships in
// batches. Until it has, a user's groups skip the group and its version
// counts what the sweep will fold in (see luaUserGroups).
//
// KEYS: 1 group, 2 unique displayName, 3 ordering set, 4 members, 5 the
// deletions being swept ("leaving"), 6 leaving:<id>.
// ARGV: 1 prefix, 2 id, 3 expected version (0: any), 4 now, 5 actor, 6 change
// log cap.
// Returns {"ok", "1" when members are left to sweep, else "0"} or {marker};
// {"pending"} while a replacement of its members is being swept (see
// writeGroupSrc): the caller finishes it first.
const deleteGroupSrc = luaCommon + `
local prefix, id, expect, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local cur = redis.call('HMGET', KEYS[1], 'ver', 'uk', 'ix', 'created', 'modified', 'renames', 'replacing')
if not cur[1] then return {'notfound'} end
if cur[7] then return {'pending'} end
if expect ~= 0 and tonumber(cur[1]) ~= expect then return {'conflict'} end
local old = {}
if cur[3] then old = cjson.decode(cur[3]) end
--@checked
local sweep = '0'
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('HSET', KEYS[5], id, count(cur[6]))
  redis.call('RENAME', KEYS[4], KEYS[6])
  sweep = '1'
end
redis.call('UNLINK', prefix .. 'morder:' .. id) -- O(1): freed in the background
if cur[2] and cur[2] ~= '' and redis.call('HGET', KEYS[2], cur[2]) == id then
  redis.call('HDEL', KEYS[2], cur[2])
end
setIndex(prefix, 'group', id, old, {})
if cur[4] then redis.call('ZREM', prefix .. 'ix:group:meta.created', cur[4] .. NUL .. id) end
if cur[5] then redis.call('ZREM', prefix .. 'ix:group:meta.lastModified', cur[5] .. NUL .. id) end
redis.call('ZREM', KEYS[3], id)
redis.call('DEL', KEYS[1])
audit(prefix, ARGV[6], ARGV[5], 'delete', 'Group', id, now)
return {'ok', sweep}
`

// sweepGroupSrc ends memberships of a deleted group (see deleteGroupSrc):
// each of the users named that is still in leaving:<groupId> leaves it,
// its renames since folded into its stored version as leaveGroup does, so
// that the version clients see is the one they saw since the deletion.
// When leaving:<groupId> is empty, the deletion is no longer pending. A
// second run with the same users changes nothing more.
//
// KEYS: 1 the deletions being swept ("leaving"), 2 leaving:<groupId>.
// ARGV: 1 prefix, 2 group id, 3 now, 4.. user ids (a bounded batch).
// Returns {users removed, 1 when the sweep is done, else 0}.
const sweepGroupSrc = luaCommon + `
local prefix, gid, now = ARGV[1], ARGV[2], ARGV[3]
local renames = redis.call('HGET', KEYS[1], gid) or '0'
--@checked
local n = 0
for i = 4, #ARGV do
  if redis.call('HDEL', KEYS[2], ARGV[i]) == 1 then
    leaveGroup(prefix, ARGV[i], gid, renames, now)
    n = n + 1
  end
end
if redis.call('EXISTS', KEYS[2]) == 1 then return {n, 0} end
redis.call('HDEL', KEYS[1], gid)
return {n, 1}
`

// sweepReplacedSrc ends memberships a replacement of a group's members left
// (see writeGroupSrc): each of the users named that is still in
// replacing:<groupId> is dropped from it and, unless it is a member again,
// leaves the group, with the group's rename count before the replacement
// (field "replacing"), as luaUserGroups counted it meanwhile. When
// replacing:<groupId> is empty, the replacement is no longer pending. A
// second run with the same users changes nothing more.
//
// KEYS: 1 group, 2 replacing:<groupId>, 3 the replacements being swept
// ("replacing"), 4 members:<groupId>.
// ARGV: 1 prefix, 2 group id, 3 now, 4.. user ids (a bounded batch).
// Returns {users removed, 1 when the sweep is done, else 0}.
const sweepReplacedSrc = luaCommon + `
local prefix, gid, now = ARGV[1], ARGV[2], ARGV[3]
local renames = redis.call('HGET', KEYS[1], 'replacing') or '0'
--@checked
local n = 0
for i = 4, #ARGV do
  if redis.call('HDEL', KEYS[2], ARGV[i]) == 1 and redis.call('HEXISTS', KEYS[4], ARGV[i]) == 0 then
    if leaveGroup(prefix, ARGV[i], gid, renames, now) then n = n + 1 end
  end
end
if redis.call('EXISTS', KEYS[2]) == 1 then return {n, 0} end
redis.call('HDEL', KEYS[1], 'replacing')
redis.call('SREM', KEYS[3], gid)
return {n, 1}
`

// readUserSrc reads one user by id: its hash as stored and its groups, in
// one script, so that the version a reader sees and the groups it shows are
// of one moment (two commands, even pipelined, let a membership change fall
// between them: an ETag would then stand for two representations).
//
// KEYS: 1 the user's hash. ARGV: 1 prefix, 2 id.
// Returns {} or {the user's hash as stored (flat field, value), what its
// groups add to its stored version, groups (flat id, displayName)}, as
// findUserNameSrc does after its id.
const readUserSrc = luaUserGroups + `
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return {} end
local extra, groups = userGroups(ARGV[1], ARGV[2])
return {h, extra, groups}
`

// findUserNameSrc finds a user by lowercase userName: the SCIM existence
// check IdPs send before every provisioning, in one round trip.
//
// KEYS: 1 the userName hash of ARGV 2 (usernames.go), 2 the userName
// index. ARGV: 1 prefix, 2 lowercase userName, 3 "1" when the hashes hold
// every user (else the index is read).
// Returns {} or {id, the user's hash as stored (flat field, value: Go
// decodes it as a read by id does, which costs Redis less than decoding it
// here), what its groups add to its stored version, groups (flat id,
// displayName)}.
const findUserNameSrc = luaUserGroups + `
local v, id = ARGV[2], nil
if ARGV[3] == '1' then
  id = redis.call('HGET', KEYS[1], v)
else
  local m = redis.call('ZRANGEBYLEX', KEYS[2], '[' .. v .. '\0', '(' .. v .. '\1', 'LIMIT', '0', '1')[1]
  if m then id = string.sub(m, #v + 2) end
end
if not id then return {} end
local h = redis.call('HGETALL', ARGV[1] .. 'user:' .. id)
if #h == 0 then return {} end
local extra, groups = userGroups(ARGV[1], id)
return {id, h, extra, groups}
`
