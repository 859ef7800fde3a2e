package resources

import (
	"context"
	"time"
)

// Action is what a change did, as the audit trail records it.
type Action string

// Actions of the audit trail. A store knows whether a write creates, replaces
// or deletes; [ActionPatch] comes from the request ([WithAction]), and
// [ActionMembers] is a group write that changed only its membership.
const (
	ActionCreate  Action = "create"
	ActionReplace Action = "replace"
	ActionPatch   Action = "patch"
	ActionDelete  Action = "delete"
	ActionMembers Action = "members"
)

// Audited resource types beside "User" and "Group" (the SCIM resource type
// names).
const (
	// TypeToken is the resource type of API token changes; their resource id
	// is the token's name, never its secret or hash.
	TypeToken = "Token"
)

// Change is one entry of an organization's change log (the audit trail): who
// did what to which resource, when. It holds no personal data and no secrets:
// ids, not userNames or emails, so that the log can be kept, shipped and read
// (it is also the feed for future webhooks) without becoming a copy of the
// customer data.
type Change struct {
	// Seq is the entry's id in the log (a Redis stream id), increasing.
	Seq string
	// Time is when the change was written.
	Time time.Time
	// Who is the actor: "token:<name>" for an API token ([TokenActor]),
	// "admin:<adminId>" for an administrator in the console,
	// "customer:<userId>" for a customer's self-service, "self-registration",
	// "cli" for the scimd command, or [SystemActor]. Entries written before
	// token actors had their prefix hold a token's bare name.
	Who string
	// Action is what was done.
	Action Action
	// Type is the resource type: "User", "Group" or [TypeToken].
	Type string
	// ResourceID is the resource's id (a token's name for tokens).
	ResourceID string
}

// SystemActor is the actor of a write made on behalf of no request (start-up
// set-up, tools, tests): [Actor] returns it when the context names none.
const SystemActor = "system"

type actorKey struct{}

type actionKey struct{}

// WithActor returns a context whose writes are attributed to name in the
// audit trail. Package scim sets it per request from the authenticated
// principal (the token's name); self-service sets [CustomerActor]. The store
// reads it with [Actor], so that attribution needs no extra parameter on every
// service and store method.
func WithActor(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, actorKey{}, name)
}

// Actor returns the actor [WithActor] set, or [SystemActor].
func Actor(ctx context.Context) string {
	if a, _ := ctx.Value(actorKey{}).(string); a != "" {
		return a
	}
	return SystemActor
}

// TokenActor is the actor of a request made with the API token name. The
// prefix keeps a token apart from the built-in actors: a token may be named
// "cli", "system" or "self-registration" (and no token name holds a ':', see
// [ValidateTokenName]), so every actor a token can be is one no other kind
// of actor is.
func TokenActor(name string) string { return "token:" + name }

// CustomerActor is the actor of a customer acting on their own account.
func CustomerActor(userID string) string { return "customer:" + userID }

// WithAction returns a context whose replace-writes are recorded as action a.
// A store sees a PATCH as a replace (read, apply, write); the request knows it
// was a PATCH, and says so here: package scim sets [ActionPatch] for PATCH
// requests.
func WithAction(ctx context.Context, a Action) context.Context {
	return context.WithValue(ctx, actionKey{}, a)
}

// UpdateAction returns the action of an update under ctx: the one
// [WithAction] set, else [ActionReplace].
func UpdateAction(ctx context.Context) Action {
	if a, _ := ctx.Value(actionKey{}).(Action); a != "" {
		return a
	}
	return ActionReplace
}
