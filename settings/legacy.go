package settings

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/core"
)

// entry is one Admin Settings entry: its <id>, <updated> and
// <apps:property> elements in order.
type entry struct {
	ID      string
	Updated time.Time
	Props   []prop
}

type prop struct{ Name, Value string }

// get returns the value of a property ("" when absent).
func (e *entry) get(name string) string {
	for i := len(e.Props) - 1; i >= 0; i-- {
		if e.Props[i].Name == name {
			return e.Props[i].Value
		}
	}
	return ""
}

// set changes a property or appends it.
func (e *entry) set(name, value string) {
	for i := range e.Props {
		if e.Props[i].Name == name {
			e.Props[i].Value = value
			return
		}
	}
	e.Props = append(e.Props, prop{name, value})
}

// only returns a copy of e with the same id and only the named properties
// (those present), in the given order: what an update sends back.
func (e *entry) only(names ...string) *entry {
	out := &entry{ID: e.ID}
	for _, n := range names {
		for _, p := range e.Props {
			if p.Name == n {
				out.set(n, p.Value)
				break
			}
		}
	}
	return out
}

// maxEntry caps the size of an Admin Settings answer.
const maxEntry = 1 << 20

func (c *Client) feedURL(feed string) string {
	return core.Of(c.core).BaseURL(workspace.APISettings) + "a/feeds/domain/2.0/" + c.domain + "/" + feed
}

func (c *Client) legacyGet(ctx context.Context, method, feed string) (*entry, error) {
	return c.legacyDo(ctx, http.MethodGet, method, feed, nil)
}

func (c *Client) legacyPut(ctx context.Context, method, feed string, e *entry) (*entry, error) {
	return c.legacyDo(ctx, http.MethodPut, method, feed, e)
}

func (c *Client) legacyPost(ctx context.Context, method, feed string, e *entry) (*entry, error) {
	return c.legacyDo(ctx, http.MethodPost, method, feed, e)
}

// legacyDo sends one Admin Settings request and decodes the entry it
// returns.
func (c *Client) legacyDo(ctx context.Context, httpMethod, method, feed string, in *entry) (*entry, error) {
	op := "settings: " + method
	if err := c.checkDomain(op); err != nil {
		return nil, err
	}
	hc, err := c.legacyClient()
	if err != nil {
		return nil, err
	}
	var body io.Reader
	if in != nil {
		b, err := encodeEntry(in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.withCall(ctx, workspace.APISettings, method), httpMethod, c.feedURL(feed), body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/atom+xml")
	}
	req.Header.Set("Accept", "application/atom+xml, text/xml;q=0.9")
	resp, err := hc.Do(req)
	if err != nil {
		err = apiError(err)
		if strings.HasPrefix(feed, "sso/") {
			err = multiPartyError(feed, err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxEntry))
	if err != nil {
		return nil, fmt.Errorf("%s: reading the answer: %w", op, err)
	}
	e, err := decodeEntry(b)
	if err != nil {
		return nil, fmt.Errorf("%s: the answer is not an Atom entry: %w", op, err)
	}
	return e, nil
}
