package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// scimClient sends requests with a bearer token over one shared client. base
// is the SCIM base URL that paths are relative to.
type scimClient struct {
	http  *http.Client
	base  string
	token string
}

// newHTTPClient keeps conns connections per host alive, so that workers
// reuse connections instead of dialing.
func newHTTPClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 2 * conns // the baseline and scimd are two hosts
	tr.MaxIdleConnsPerHost = conns
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// response is a status and the whole body.
type response struct {
	status int
	body   []byte
}

// do sends one request to base+path and reads the whole answer, so that its
// time includes the body.
func (c scimClient) do(ctx context.Context, method, path string, body []byte) (response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/scim+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: read the body: %w", method, path, err)
	}
	return response{status: resp.StatusCode, body: b}, nil
}

// expect sends a request and fails unless the status is one of want.
func (c scimClient) expect(ctx context.Context, method, path string, body []byte, want ...int) (response, error) {
	resp, err := c.do(ctx, method, path, body)
	if err != nil {
		return response{}, err
	}
	if !slices.Contains(want, resp.status) {
		return resp, statusError{method: method, path: path, got: resp, want: want}
	}
	return resp, nil
}

// statusError is an answer with an unexpected status; its message shows the
// status and the start of the body, which is what a person needs to see.
type statusError struct {
	method, path string
	got          response
	want         []int
}

func (e statusError) Error() string {
	const maxBody = 500
	body := e.got.body
	if len(body) > maxBody {
		body = append(body[:maxBody:maxBody], "…"...)
	}
	return fmt.Sprintf("%s %s: status %d, want %v: %s", e.method, e.path, e.got.status, e.want, bytes.TrimSpace(body))
}
