package backend

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

// countingRedis is a fake Redis that answers +OK to every command (HELLO
// excepted) but those named in hold (upper case), which it counts and then, by mode, never
// answers ("silent") or answers by closing the connection ("close").
type countingRedis struct {
	addr string
	mu   sync.Mutex
	seen map[string]int
}

func startCountingRedis(t *testing.T, mode string, hold ...string) *countingRedis {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	f := &countingRedis{addr: ln.Addr().String(), seen: map[string]int{}}
	held := map[string]bool{}
	for _, h := range hold {
		held[h] = true
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					args, err := readCommand(r)
					if err != nil {
						return
					}
					name := strings.ToUpper(args[0])
					if !held[name] {
						reply := "+OK\r\n"
						switch name {
						case "HELLO": // as Redis 5 does: go-redis then speaks RESP2
							reply = "-ERR unknown command 'HELLO'\r\n"
						case "EXISTS": // no key of an earlier layout (a creation asks: created.go)
							reply = ":0\r\n"
						}
						if _, err := io.WriteString(c, reply); err != nil {
							return
						}
						continue
					}
					f.mu.Lock()
					f.seen[name]++
					f.mu.Unlock()
					if mode == "close" {
						return
					}
					select { // silent: keep the connection, never answer
					case <-done:
					case <-time.After(10 * time.Second):
					}
					return
				}
			}()
		}
	}()
	return f
}

// count returns how many commands named name the fake received.
func (f *countingRedis) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[name]
}

// readCommand reads one RESP command: an array of bulk strings.
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
	if err != nil || n < 1 {
		return nil, fmt.Errorf("bad command header %q", line)
	}
	args := make([]string, n)
	for i := range args {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
		if err != nil {
			return nil, fmt.Errorf("bad bulk header %q", line)
		}
		b := make([]byte, size+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		args[i] = string(b[:size])
	}
	return args, nil
}

// TestWriteIsNotResent: a write script whose answer does not come (Redis is
// paused past the read timeout, or the connection breaks after the script
// was sent) is sent once, not again by go-redis's retries (which would run
// it twice: a creation would then answer 409 for its own user), and fails as
// a 503 that says the outcome is unknown. Reads are still retried.
//
// So with the scripts run as functions (FCALL, library.go).
func TestWriteIsNotResent(t *testing.T) {
	for _, c := range []struct{ mode, call string }{{"silent", "EVALSHA"}, {"close", "EVALSHA"}, {"silent", "FCALL"}, {"close", "FCALL"}} {
		mode := c.mode
		t.Run(c.mode+"/"+c.call, func(t *testing.T) {
			f := startCountingRedis(t, mode, "EVALSHA", "EVAL", "FCALL", "HGETALL")
			s := New(redis.NewClient(&redis.Options{Addr: f.addr, Protocol: resp2, ReadTimeout: 100 * time.Millisecond,
				MaxRetries: 3, MinRetryBackoff: time.Millisecond, MaxRetryBackoff: time.Millisecond}))
			defer s.Close()
			s.functions = c.call == "FCALL" // as Open decides on a Redis that has functions
			ctx := context.Background()
			u := resources.Resource{Attributes: map[string]any{"userName": "a@example.com"}}
			writes := []struct {
				name string
				call func() error
			}{
				{"CreateUser", func() error { _, err := s.CreateUser(ctx, "acme", u, resources.UserWrite{Typed: true}); return err }},
				{"DeleteUser", func() error { return s.DeleteUser(ctx, "acme", "id", 0) }},
				{"CreateGroup", func() error {
					_, err := s.CreateGroup(ctx, "acme", resources.Resource{Attributes: map[string]any{"displayName": "G"}})
					return err
				}},
				{"ReplaceUser", func() error {
					_, err := s.ReplaceUser(ctx, "acme", resources.Resource{ID: "id", Attributes: u.Attributes}, 1, resources.UserWrite{Typed: true})
					return err
				}},
			}
			for _, w := range writes {
				before := f.count("EVALSHA") + f.count("EVAL") + f.count("FCALL")
				err := w.call()
				if sent := f.count("EVALSHA") + f.count("EVAL") + f.count("FCALL") - before; sent != 1 || f.count(c.call) == 0 {
					t.Errorf("%s sent its script %d times (%d with %s), want 1", w.name, sent, f.count(c.call), c.call)
				}
				if resources.ErrorCode(err) != resources.Unavailable || !errors.Is(err, resources.ErrOutcomeUnknown) {
					t.Errorf("%s = %v, want Unavailable with the outcome unknown", w.name, err)
				}
				var e resources.Error
				if errors.As(err, &e) && !strings.Contains(e.Detail, "whether the change was made is unknown") {
					t.Errorf("%s: detail %q does not say the outcome is unknown", w.name, e.Detail)
				}
			}
			before := f.count("EVALSHA") + f.count("EVAL") + f.count("FCALL")
			_, err := s.GetUser(ctx, "acme", "id") // a read script (readUserSrc)
			if got := f.count("EVALSHA") + f.count("EVAL") + f.count("FCALL") - before; got < 2 {
				t.Errorf("GetUser sent its read script %d times, want go-redis's retries of a read", got)
			}
			if resources.ErrorCode(err) != resources.Unavailable || errors.Is(err, resources.ErrOutcomeUnknown) {
				t.Errorf("GetUser = %v, want Unavailable, the outcome of no write in doubt", err)
			}
		})
	}
}

// TestEveryScriptSaysIfItMayBeResent: the store runs its Lua scripts only as
// [script]s, each made by newScript (a write: sent at most once) or
// newIdempotentScript (go-redis may resend it), never as a bare
// *redis.Script, whose Run go-redis resends after a timeout.
func TestEveryScriptSaysIfItMayBeResent(t *testing.T) {
	bare := reflect.TypeFor[*redis.Script]()
	for _, typ := range []reflect.Type{reflect.TypeFor[Store](), reflect.TypeFor[adminScripts]()} {
		for f := range typ.Fields() {
			if f.Type == bare {
				t.Errorf("%s.%s is a *redis.Script: make it with newScript, or newIdempotentScript if running it twice changes nothing more", typ.Name(), f.Name)
			}
		}
	}
}

// TestCreateOrgIsNotResent: CreateOrg's SADD, whose answer says whether the
// organization is new (and so whether first-start set-up runs), is sent
// once: resent after its answer was lost, it would answer "not new" for the
// organization it created.
func TestCreateOrgIsNotResent(t *testing.T) {
	for _, mode := range []string{"silent", "close"} {
		t.Run(mode, func(t *testing.T) {
			f := startCountingRedis(t, mode, "SADD")
			s := New(redis.NewClient(&redis.Options{Addr: f.addr, Protocol: resp2, ReadTimeout: 100 * time.Millisecond,
				MaxRetries: 3, MinRetryBackoff: time.Millisecond, MaxRetryBackoff: time.Millisecond}))
			defer s.Close()
			created, err := s.CreateOrg(context.Background(), "acme")
			if sent := f.count("SADD"); sent != 1 {
				t.Errorf("CreateOrg sent SADD %d times, want 1", sent)
			}
			if created || !errors.Is(err, resources.ErrOutcomeUnknown) {
				t.Errorf("CreateOrg = %v, %v; want false and the outcome unknown", created, err)
			}
		})
	}
}
