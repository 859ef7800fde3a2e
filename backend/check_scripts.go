package backend

// Read-only Lua scripts of [Store.Check]. Each checks one batch of resources,
// entries or keys, all of one organization (one Cluster slot), and returns its
// findings as a flat list key, id, code: a script is atomic, so a finding is
// a disagreement that held at one instant, never one made up by a write that
// ran between two reads of the checker. A check of a batch reads only the
// keys its items name, so it blocks Redis for a time bounded by the batch.
//
// Findings name keys and ids only: never a userName, email or other value of
// an index or a uniqueness hash, never a secret.

// luaCheck is prepended to every check script.
const luaCheck = luaOrderKey + luaStoredHash + luaUserNames + `
local out = {}
local function bad(key, id, code)
  out[#out + 1] = key
  out[#out + 1] = id
  out[#out + 1] = code
end

-- decodeList decodes a JSON list, or returns nil.
local function decodeList(s)
  local ok, v = pcall(cjson.decode, s)
  if ok and type(v) == 'table' then return v end
  return nil
end

-- hasEntry reports whether the flat list attr, value, ... holds attr, value.
local function hasEntry(list, attr, value)
  for i = 1, #list, 2 do
    if list[i] == attr and list[i + 1] == value then return true end
  end
  return false
end

-- entriesJSON returns index entries read by readHash as a JSON list, for
-- the checks made in Go ("" when they do not decode).
local function entriesJSON(entries)
  if not entries then return '' end
  if #entries == 0 then return '[]' end
  return cjson.encode(entries)
end

-- checkIndexed checks that a resource's index entries (read by readHash:
-- false when they do not decode) and meta times are in their indexes;
-- entries of the attribute sparse (see active.go), which a user written
-- by an earlier version keeps, are not.
local function checkIndexed(p, kind, id, key, entries, created, modified, sparse)
  if not entries then
    bad(key, id, 'ix-invalid')
  else
    for j = 1, #entries, 2 do
      local ixKey = p .. 'ix:' .. kind .. ':' .. tostring(entries[j])
      if entries[j] ~= sparse and not redis.call('ZSCORE', ixKey, tostring(entries[j + 1]) .. NUL .. id) then bad(ixKey, id, 'index-missing') end
    end
  end
  if not created or not modified then
    bad(key, id, 'times-missing')
    return
  end
  if kind == 'user' and redis.call('EXISTS', p .. 'ix:user:meta.created') == 0 then
    -- A user's creation time is its score in the ordering set, in
    -- microseconds (created.go); the earlier index of it is being
    -- converted while it exists.
    local ns, score = timeNanos(created), redis.call('ZSCORE', p .. 'all:user', id)
    if score and (string.sub(ns, -3) ~= '000' or tonumber(string.sub(ns, 1, -4)) ~= tonumber(score)) then
      bad(p .. 'all:user', id, 'created-score')
    end
  elseif not redis.call('ZSCORE', p .. 'ix:' .. kind .. ':meta.created', created .. NUL .. id) then
    bad(p .. 'ix:' .. kind .. ':meta.created', id, 'index-missing')
  end
  if not redis.call('ZSCORE', p .. 'ix:' .. kind .. ':meta.lastModified', modified .. NUL .. id) then
    bad(p .. 'ix:' .. kind .. ':meta.lastModified', id, 'index-missing')
  end
end
`

// checkResourcesSrc checks users or groups named by their ordering set:
// each has a document and a version, its uniqueness entry and index entries
// are in place; a user's groups list it back under the group's current name,
// and its pending invitation and confirmation name it back. It returns the
// stored fields of each resource for the checks made in Go (that the
// bookkeeping fits the document).
//
// A user's entry in inactive:user is returned for the check in Go: "" none,
// "false" its creation sequence, "none" minus it, "stale" another score.
//
// KEYS: 1 the ordering set (all:<kind>). ARGV: 1 prefix, 2 kind, 3 the
// kind's sparse boolean ("" none), 4.. ids.
// Returns {findings, {{id, doc, uk, disp, ix, uq, inactive}, ...}}.
const checkResourcesSrc = luaCheck + `
local p, kind, sparse = ARGV[1], ARGV[2], ARGV[3]
-- A user's userName is kept unique by its index (checked by checkIndexSrc);
-- a user written before keeps its key of the legacy hash until its next
-- write (see legacyKeys), no longer checked.
local unique = nil
if kind == 'group' then unique = p .. 'unique:group:displayName' end
-- Once ready, the userName hashes hold every user (usernames.go).
local named = kind == 'user' and redis.call('EXISTS', p .. 'unames:ready') == 1
local docs = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local key = p .. kind .. ':' .. id
  local s = readHash(key)
  local h = {s.doc, s.ver, s.uk, s.disp, s.entries, s.created, s.modified, s.replacing, s.uq}
  if not h[1] then
    if redis.call('ZSCORE', KEYS[1], id) then bad(KEYS[1], id, 'ordered-missing') end
  else
    local inactive = ''
    if sparse ~= '' then
      local x, seq = redis.call('ZSCORE', p .. 'inactive:' .. kind, id), redis.call('ZSCORE', KEYS[1], id)
      if x and seq and tonumber(x) == tonumber(seq) then
        inactive = 'false'
      elseif x and seq and tonumber(x) == -tonumber(seq) then
        inactive = 'none'
      elseif x then
        inactive = 'stale'
      end
    end
    docs[#docs + 1] = {id, h[1], h[3] or '', h[4] or '', entriesJSON(h[5]), h[9] or '', inactive}
    if not tonumber(h[2]) then bad(key, id, 'version-missing') end
    if unique and h[3] and h[3] ~= '' and redis.call('HGET', unique, h[3]) ~= id then bad(unique, id, 'unique-missing') end
    if named and h[5] then
      local uk = entriesKey(h[5])
      if uk ~= '' and redis.call('HGET', userNameKey(p, uk), uk) ~= id then bad(userNameKey(p, uk), id, 'unique-missing') end
    end
    checkIndexed(p, kind, id, key, h[5], h[6], h[7], sparse)
    if h[8] and redis.call('SISMEMBER', p .. 'replacing', id) == 0 then bad(key, id, 'replace-unlisted') end
    if kind == 'user' and h[9] then
      -- Claims of custom unique attributes: each held in its hash.
      local claims = decodeList(h[9])
      if not claims then
        bad(key, id, 'uq-invalid')
      else
        for j = 1, #claims, 2 do
          local uh = p .. 'unique:user:' .. tostring(claims[j])
          if redis.call('HGET', uh, tostring(claims[j + 1])) ~= id then bad(uh, id, 'unique-missing') end
        end
      end
    end
    if kind == 'user' then
      local ug = p .. 'ugroups:' .. id
      local gs = redis.call('HGETALL', ug)
      for j = 1, #gs, 2 do
        local gid, name = gs[j], gs[j + 1]
        local g = redis.call('HMGET', p .. 'group:' .. gid, 'disp', 'renames', 'replacing')
        local final = nil
        if not g[1] then final = redis.call('HGET', p .. 'leaving', gid) end
        if g[1] and g[3] and redis.call('HEXISTS', p .. 'members:' .. gid, id) == 0 then
          -- The group's members were replaced without the user, and the
          -- replacement's sweep is pending: work left, as for a deletion.
          if string.match(name, '^%d+$') and tonumber(name) > (tonumber(g[3]) or 0) then
            bad(ug, gid, 'membership-ahead')
          end
          if redis.call('HEXISTS', p .. 'replacing:' .. gid, id) == 0 then bad(ug, gid, 'member-one-sided') end
        elseif final then
          -- The group is deleted and its sweep pending: work left, not a
          -- disagreement, as long as the sweep will end this membership.
          if string.match(name, '^%d+$') and tonumber(name) > (tonumber(final) or 0) then
            bad(ug, gid, 'membership-ahead')
          end
          if redis.call('HEXISTS', p .. 'leaving:' .. gid, id) == 0 then bad(ug, gid, 'member-one-sided') end
        elseif not g[1] then
          bad(ug, gid, 'group-missing')
        else
          -- A membership keeps the group's rename count when it began (a
          -- legacy one its name, read as 0): never more than the group's.
          if string.match(name, '^%d+$') and tonumber(name) > (tonumber(g[2]) or 0) then
            bad(ug, gid, 'membership-ahead')
          end
          if redis.call('HEXISTS', p .. 'members:' .. gid, id) == 0 then bad(ug, gid, 'member-one-sided') end
        end
      end
      for _, link in ipairs({'invite', 'confirm'}) do
        local cur = p .. 'u' .. link .. ':' .. id
        local hash = redis.call('GET', cur)
        if hash and redis.call('GET', p .. link .. ':' .. hash) ~= id then bad(cur, id, 'link-missing') end
      end
    end
  end
end
return {out, docs}
`

// checkMembersSrc checks members of a group: each is a user whose display
// is the one the group keeps and whose groups list the group back. A group
// that no longer exists is skipped (its members key is an orphan the key
// scan reports).
//
// KEYS: 1 members:<groupId>. ARGV: 1 prefix, 2 group id, 3.. user ids.
// Returns findings.
const checkMembersSrc = luaCheck + `
local p, gid = ARGV[1], ARGV[2]
if redis.call('EXISTS', p .. 'group:' .. gid) == 0 then return out end
for i = 3, #ARGV do
  local uid = ARGV[i]
  local d = redis.call('HGET', KEYS[1], uid)
  if d then
    local ud = redis.call('HGET', p .. 'user:' .. uid, 'disp')
    if not ud then
      bad(KEYS[1], uid, 'user-missing')
    else
      if ud ~= d then bad(KEYS[1], uid, 'member-display-stale') end
      if not redis.call('ZSCORE', p .. 'morder:' .. gid, orderKey(d, uid)) then bad(p .. 'morder:' .. gid, uid, 'order-missing') end
      if redis.call('HEXISTS', p .. 'ugroups:' .. uid, gid) == 0 then bad(KEYS[1], uid, 'member-one-sided') end
    end
  end
end
return out
`

// checkOrderSrc checks entries of a group's members' order: each still
// there is the entry of a member of the group, with its display.
//
// KEYS: 1 morder:<groupId>. ARGV: 1 members:<groupId>, 2.. entries.
// Returns findings.
const checkOrderSrc = luaCheck + `
for i = 2, #ARGV do
  local e = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], e) then
    local at = string.find(e, NUL, 1, true)
    if not at then
      bad(KEYS[1], '', 'index-malformed')
    else
      local uid = string.sub(e, at + 1)
      local d = redis.call('HGET', ARGV[1], uid)
      if not d or orderKey(d, uid) ~= e then bad(KEYS[1], uid, 'order-stray') end
    end
  end
end
return out
`

// checkIndexSrc checks entries of an index: each still there names a
// resource that has that entry (its ix field, or its created or modified time
// for the meta indexes), and, in an index that keeps its attribute unique,
// is the only entry of its value.
//
// KEYS: 1 ix:<kind>:<attr>. ARGV: 1 prefix, 2 kind, 3 attr, 4 "created",
// "modified", "unique" (a filter index that keeps its values unique) or ""
// (a filter index), 5.. entries (value NUL id).
// Returns findings.
const checkIndexSrc = luaCheck + `
local p, kind, attr, meta = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
for i = 5, #ARGV do
  local e = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], e) then
    local at = string.find(e, NUL, 1, true)
    if not at then
      bad(KEYS[1], '', 'index-malformed')
    else
      local value, id = string.sub(e, 1, at - 1), string.sub(e, at + 1)
      local s = readHash(p .. kind .. ':' .. id)
      local h = {s.ver, s.entries, s.created, s.modified}
      if not h[1] then
        bad(KEYS[1], id, 'index-stray')
      elseif meta == 'created' or meta == 'modified' then
        local t = h[3]
        if meta == 'modified' then t = h[4] end
        if t ~= value then bad(KEYS[1], id, 'index-stale') end
      else
        if h[2] and not hasEntry(h[2], attr, value) then bad(KEYS[1], id, 'index-stale') end
        if meta == 'unique' then
          local other = redis.call('ZRANGEBYLEX', KEYS[1], '(' .. e, '(' .. value .. string.char(1), 'LIMIT', 0, 1)[1]
          if other then bad(KEYS[1], id, 'unique-duplicate') end
        end
      end
    end
  end
end
return out
`

// checkUniqueSrc checks entries of a uniqueness hash (users' userNames,
// groups' displayNames, administrators' emails): each still there names a
// resource whose unique key it is.
//
// KEYS: 1 the hash. ARGV: 1 prefix, 2 the resource's key segment ("user",
// "group", "admin"), 3.. pairs of unique key and id.
// Returns findings.
const checkUniqueSrc = luaCheck + `
local p, seg = ARGV[1], ARGV[2]
for i = 3, #ARGV, 2 do
  local uk, id = ARGV[i], ARGV[i + 1]
  if redis.call('HGET', KEYS[1], uk) == id then
    local cur = redis.call('HGET', p .. seg .. ':' .. id, 'uk')
    if not cur then
      bad(KEYS[1], id, 'unique-stray')
    elseif cur ~= uk then
      bad(KEYS[1], id, 'unique-stale')
    end
  end
end
return out
`

// checkUserNamesSrc checks entries of a userName hash (usernames.go):
// each still there is in the hash of its bucket, and names a user whose
// entry in the userName index is it ('unique-stray' when the user does not
// exist, else 'unique-stale').
//
// KEYS: 1 the hash. ARGV: 1 prefix, 2.. pairs of folded userName and id.
// Returns findings.
const checkUserNamesSrc = luaCheck + `
local p = ARGV[1]
for i = 2, #ARGV, 2 do
  local uk, id = ARGV[i], ARGV[i + 1]
  if redis.call('HGET', KEYS[1], uk) == id then
    if userNameKey(p, uk) ~= KEYS[1] then
      bad(KEYS[1], id, 'unique-misplaced')
    elseif not redis.call('ZSCORE', p .. 'ix:user:userName', uk .. NUL .. id) then
      if redis.call('EXISTS', p .. 'user:' .. id) == 0 then bad(KEYS[1], id, 'unique-stray') else bad(KEYS[1], id, 'unique-stale') end
    end
  end
end
return out
`

// checkClaimsSrc checks claims of a custom unique attribute: each still
// there names a user whose stored claims (its field "uq") hold it.
//
// KEYS: 1 unique:user:<attr>. ARGV: 1 prefix, 2 attr, 3.. pairs of claimed
// key and user id.
// Returns findings.
const checkClaimsSrc = luaCheck + `
local p, attr = ARGV[1], ARGV[2]
for i = 3, #ARGV, 2 do
  local k, id = ARGV[i], ARGV[i + 1]
  if redis.call('HGET', KEYS[1], k) == id then
    local h = redis.call('HMGET', p .. 'user:' .. id, 'ver', 'uq')
    if not h[1] then
      bad(KEYS[1], id, 'unique-stray')
    else
      local claims = decodeList(h[2] or '[]')
      if claims and not hasEntry(claims, attr, k) then bad(KEYS[1], id, 'unique-stale') end
    end
  end
end
return out
`

// checkKeysSrc checks keys found by scanning the organization's keys, for
// what no set or hash of the organization names: documents outside their
// ordering set, passwords, groups and members of resources that are gone,
// pending links and their owners, administrators, their links and sessions,
// members of deleted groups left to sweep, old members of groups whose
// members were replaced left to sweep.
//
// KEYS: 1 any key of the organization (routing). ARGV: 1 prefix, 2.. pairs of
// segment and argument (the key is prefix .. segment .. ':' .. argument).
// Returns findings.
const checkKeysSrc = luaCheck + `
local p = ARGV[1]
local function exists(key) return redis.call('EXISTS', key) == 1 end
for i = 2, #ARGV, 2 do
  local seg, arg = ARGV[i], ARGV[i + 1]
  local key = p .. seg .. ':' .. arg
  if exists(key) then
    if seg == 'user' or seg == 'group' then
      if not redis.call('ZSCORE', p .. 'all:' .. seg, arg) then bad(key, arg, 'unordered') end
    elseif seg == 'pw' or seg == 'ugroups' or seg == 'uinvite' or seg == 'uconfirm' then
      if not exists(p .. 'user:' .. arg) then bad(key, arg, 'user-missing') end
    elseif seg == 'members' or seg == 'morder' then
      if not exists(p .. 'group:' .. arg) then bad(key, arg, 'group-missing') end
    elseif seg == 'replacing' then
      if not exists(p .. 'group:' .. arg) then
        bad(key, arg, 'group-missing')
      elseif not redis.call('HGET', p .. 'group:' .. arg, 'replacing') or redis.call('SISMEMBER', p .. 'replacing', arg) == 0 then
        bad(key, arg, 'replace-unlisted')
      end
    elseif seg == 'leaving' then
      if redis.call('HEXISTS', p .. 'leaving', arg) == 0 then bad(key, arg, 'sweep-unlisted') end
      if exists(p .. 'group:' .. arg) then bad(key, arg, 'sweep-group-exists') end
    elseif seg == 'invite' or seg == 'confirm' then
      local uid = redis.call('GET', key)
      if not exists(p .. 'user:' .. uid) then
        bad(key, uid, 'user-missing')
      elseif redis.call('GET', p .. 'u' .. seg .. ':' .. uid) ~= arg then
        bad(key, uid, 'link-not-current')
      end
    elseif seg == 'ticket' then
      local v = redis.call('GET', key)
      if not string.match(v, '^%S+ %d+$') then bad(key, '', 'ticket-malformed') end
    elseif seg == 'admin' then
      local a = redis.call('HMGET', key, 'email', 'uk', 'role', 'created')
      if not a[1] or not a[2] or not a[4] then bad(key, arg, 'admin-incomplete') end
      if a[2] and redis.call('HGET', p .. 'admins', a[2]) ~= arg then bad(p .. 'admins', arg, 'unique-missing') end
      if a[3] ~= 'owner' and a[3] ~= 'collaborator' then bad(key, arg, 'admin-role') end
      local owner = redis.call('SISMEMBER', p .. 'owners', arg) == 1
      if owner ~= (a[3] == 'owner') then bad(p .. 'owners', arg, 'owners-stale') end
    elseif seg == 'adminlinks' or seg == 'adminsessions' then
      if not exists(p .. 'admin:' .. arg) then bad(key, arg, 'admin-missing') end
    elseif seg == 'adminlink' or seg == 'session' then
      local l = redis.call('HMGET', key, 'admin', 'kind', 'created', 'csrf')
      local set = p .. 'adminlinks:'
      if seg == 'session' then set = p .. 'adminsessions:' end
      if not l[1] then
        bad(key, '', 'link-incomplete')
      elseif not exists(p .. 'admin:' .. l[1]) then
        bad(key, l[1], 'admin-missing')
      elseif redis.call('SISMEMBER', set .. l[1], arg) == 0 then
        bad(key, l[1], 'link-unlisted')
      end
      if seg == 'adminlink' and l[2] ~= 'invite' and l[2] ~= 'signin' then bad(key, l[1] or '', 'link-kind') end
      if seg == 'session' and (not l[3] or not l[4]) then bad(key, l[1] or '', 'link-incomplete') end
    end
  end
end
return out
`

// checkInactiveSrc checks entries of inactive:<kind> (active.go): each
// still there names a resource.
//
// KEYS: 1 inactive:<kind>. ARGV: 1 prefix, 2 kind, 3.. ids.
// Returns findings.
const checkInactiveSrc = luaCheck + `
for i = 3, #ARGV do
  local id = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], id) and redis.call('EXISTS', ARGV[1] .. ARGV[2] .. ':' .. id) == 0 then
    bad(KEYS[1], id, 'index-stray')
  end
end
return out
`

// checkOwnersSrc checks members of the owners set: each still there is an
// administrator (whose role the key scan checks against the set).
//
// KEYS: 1 owners. ARGV: 1 prefix, 2.. ids.
// Returns findings.
const checkOwnersSrc = luaCheck + `
for i = 2, #ARGV do
  local id = ARGV[i]
  if redis.call('SISMEMBER', KEYS[1], id) == 1 then
    if redis.call('EXISTS', ARGV[1] .. 'admin:' .. id) == 0 then bad(KEYS[1], id, 'admin-missing') end
  end
end
return out
`
