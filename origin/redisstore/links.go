package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// CreateLink stores a new link at version (tombstone version + 1).
func (s *Store) CreateLink(ctx context.Context, l store.NewLink) (store.Link, error) {
	return s.createLink(ctx, l, nil)
}

// createLink is CreateLink and, with evictions set, CreateLinkCold: the
// script (cold_create.lua) then refuses the create ("moved") if the
// partition's eviction counter is no longer *evictions.
func (s *Store) createLink(ctx context.Context, l store.NewLink, evictions *uint64) (store.Link, error) {
	if !keys.ValidCode(l.Code) {
		return store.Link{}, fmt.Errorf("%w: code %q", store.ErrInvalid, l.Code)
	}
	if ok, why := store.ValidateURL(l.URL); !ok {
		return store.Link{}, fmt.Errorf("%w: %s", store.ErrInvalid, why)
	}
	if !store.ValidRedirect(l.Redirect) {
		return store.Link{}, fmt.Errorf("%w: redirect status %d", store.ErrInvalid, l.Redirect)
	}
	x := normExtras(l.LinkExtras)
	if ok, why := store.ValidateExtras(x, l.ExpiresAt); !ok {
		return store.Link{}, fmt.Errorf("%w: %s", store.ErrInvalid, why)
	}
	p := s.space.Partition(keys.KindLink, l.Code)
	exp := ""
	if l.ExpiresAt != nil {
		exp = encodeTime(*l.ExpiresAt)
	}
	args := []any{keys.Key(keys.KindLink, l.Code), s.nowMs(), s.cfg.ChangeStreamMaxLen,
		l.URL, l.Redirect, exp, encodeTime(l.CreatedAt), l.Code, strings.Join(x.Tags, ",")}
	sc, ks := scriptLinkCreate, []string{s.ks.link(p, l.Code), s.ks.seq(p), s.ks.log(p)}
	if evictions != nil {
		sc, ks = scriptColdCreate, append(ks, s.ks.evictions(p))
		args = append(args, strconv.FormatUint(*evictions, 10))
	}
	args = appendExtraFields(args, x)
	v, err := s.run(ctx, sc, ks, args...)
	if err != nil {
		return store.Link{}, err
	}
	tag, rest, err := replyOf(v)
	if err != nil {
		return store.Link{}, err
	}
	ver, err := firstVersion(rest)
	if err != nil {
		return store.Link{}, err
	}
	switch tag {
	case "ok":
		out := store.Link{Code: l.Code, URL: l.URL, Redirect: l.Redirect, CreatedAt: normTime(l.CreatedAt), Version: ver, LinkExtras: x}
		if l.ExpiresAt != nil {
			t := normTime(*l.ExpiresAt)
			out.ExpiresAt = &t
		}
		return out, nil
	case "taken":
		return store.Link{}, fmt.Errorf("%w: %s", store.ErrCodeTaken, l.Code)
	case "moved":
		return store.Link{}, fmt.Errorf("redisstore: create link %q: %w", l.Code, store.ErrEvictionsMoved)
	}
	return store.Link{}, fmt.Errorf("%w: create link: tag %q", errBadReply, tag)
}

// GetLink returns the link, expired or not, with its clicks; for an
// unknown or deleted code ErrNotFound with Code and Version set.
func (s *Store) GetLink(ctx context.Context, code string) (store.Link, error) {
	return s.getLink(ctx, s.ro, code)
}

// GetLinkPrimary is GetLink from the master, never a replica.
func (s *Store) GetLinkPrimary(ctx context.Context, code string) (store.Link, error) {
	return s.getLink(ctx, s.primary, code)
}

func (s *Store) getLink(ctx context.Context, c redis.UniversalClient, code string) (store.Link, error) {
	missing := store.Link{Code: code}
	if !keys.ValidCode(code) {
		return missing, fmt.Errorf("%w: link %q", store.ErrNotFound, code)
	}
	if s.closed.Load() {
		return missing, s.classify("get link", redis.ErrClosed)
	}
	p := s.space.Partition(keys.KindLink, code)
	h, err := c.HGetAll(ctx, s.ks.link(p, code)).Result()
	if err != nil {
		return missing, s.classify("get link", err)
	}
	l, live, err := linkFromHash(code, h)
	if err != nil {
		return missing, err
	}
	if !live {
		return l, fmt.Errorf("%w: link %q", store.ErrNotFound, code)
	}
	return l, nil
}

// UpdateLink applies p and bumps the version.
func (s *Store) UpdateLink(ctx context.Context, code string, lp store.LinkPatch) (store.Link, error) {
	if !keys.ValidCode(code) {
		return store.Link{Code: code}, fmt.Errorf("%w: link %q", store.ErrNotFound, code)
	}
	setURL, url := "0", ""
	if lp.URL != nil {
		if ok, why := store.ValidateURL(*lp.URL); !ok {
			return store.Link{}, fmt.Errorf("%w: %s", store.ErrInvalid, why)
		}
		setURL, url = "1", *lp.URL
	}
	setRd, rd := "0", ""
	if lp.Redirect != nil {
		if !store.ValidRedirect(*lp.Redirect) {
			return store.Link{}, fmt.Errorf("%w: redirect status %d", store.ErrInvalid, *lp.Redirect)
		}
		setRd, rd = "1", strconv.Itoa(*lp.Redirect)
	}
	expMode, exp := "keep", ""
	switch {
	case lp.ClearExpiry:
		expMode = "clear"
	case lp.ExpiresAt != nil:
		expMode, exp = "set", encodeTime(*lp.ExpiresAt)
	}
	// The extras the patch sets are checked here on their own; that
	// valid_since stays before expires_at is checked by the script, which
	// sees the stored values.
	var px store.LinkExtras
	lp.ApplyExtras(&px)
	if ok, why := store.ValidateExtras(px, nil); !ok {
		return store.Link{}, fmt.Errorf("%w: %s", store.ErrInvalid, why)
	}
	setTags, tags := "0", ""
	if lp.Tags != nil {
		setTags, tags = "1", strings.Join(px.Tags, ",")
	}
	clearVisits := "0"
	if lp.ClearMaxVisits {
		clearVisits = "1"
	}
	p := s.space.Partition(keys.KindLink, code)
	args := []any{keys.Key(keys.KindLink, code), s.nowMs(), s.cfg.ChangeStreamMaxLen,
		setURL, url, setRd, rd, expMode, exp, code, setTags, tags, clearVisits}
	args = appendPatchFields(args, lp, px)
	v, err := s.run(ctx, scriptLinkUpdate,
		[]string{s.ks.link(p, code), s.ks.seq(p), s.ks.log(p)}, args...)
	if err != nil {
		return store.Link{}, err
	}
	tag, rest, err := replyOf(v)
	if err != nil {
		return store.Link{}, err
	}
	switch tag {
	case "ok":
		hv, err := at(rest, 0)
		if err != nil {
			return store.Link{}, err
		}
		h, err := toHash(hv)
		if err != nil {
			return store.Link{}, err
		}
		l, _, err := linkFromHash(code, h)
		return l, err
	case "invalid":
		why, _ := at(rest, 0)
		return store.Link{}, fmt.Errorf("%w: %v", store.ErrInvalid, why)
	case "nf":
		ver, err := firstVersion(rest)
		if err != nil {
			return store.Link{}, err
		}
		return store.Link{Code: code, Version: ver}, fmt.Errorf("%w: link %q", store.ErrNotFound, code)
	}
	return store.Link{}, fmt.Errorf("%w: update link: tag %q", errBadReply, tag)
}

// DeleteLink leaves a tombstone at version + 1 and returns that version.
func (s *Store) DeleteLink(ctx context.Context, code string) (uint64, error) {
	if !keys.ValidCode(code) {
		return 0, fmt.Errorf("%w: link %q", store.ErrNotFound, code)
	}
	p := s.space.Partition(keys.KindLink, code)
	v, err := s.run(ctx, scriptLinkDelete,
		[]string{s.ks.link(p, code), s.ks.seq(p), s.ks.log(p)},
		keys.Key(keys.KindLink, code), s.nowMs(), s.cfg.ChangeStreamMaxLen, code)
	if err != nil {
		return 0, err
	}
	tag, rest, err := replyOf(v)
	if err != nil {
		return 0, err
	}
	ver, err := firstVersion(rest)
	if err != nil {
		return 0, err
	}
	switch tag {
	case "ok":
		return ver, nil
	case "nf":
		return ver, fmt.Errorf("%w: link %q", store.ErrNotFound, code)
	}
	return 0, fmt.Errorf("%w: delete link: tag %q", errBadReply, tag)
}

func firstVersion(rest []any) (uint64, error) {
	v, err := at(rest, 0)
	if err != nil {
		return 0, err
	}
	return toVersion(v)
}

// linkFromHash decodes a link hash; live is false for a missing key or a
// tombstone, whose Link then carries only Code and Version.
func linkFromHash(code string, h map[string]string) (l store.Link, live bool, err error) {
	l.Code = code
	if v, ok := h["v"]; ok {
		if l.Version, err = toVersion(v); err != nil {
			return store.Link{Code: code}, false, err
		}
	}
	url, ok := h["url"]
	if !ok {
		return l, false, nil
	}
	l.URL = url
	rd, err := toInt(h["rd"])
	if err != nil {
		return store.Link{Code: code}, false, err
	}
	l.Redirect = int(rd)
	if l.CreatedAt, err = decodeTime(h["ct"]); err != nil {
		return store.Link{Code: code}, false, err
	}
	if e := h["exp"]; e != "" {
		t, err := decodeTime(e)
		if err != nil {
			return store.Link{Code: code}, false, err
		}
		l.ExpiresAt = &t
	}
	if c, ok := h["clk"]; ok {
		if l.Clicks, err = toInt(c); err != nil {
			return store.Link{Code: code}, false, err
		}
	}
	if l.LinkExtras, err = extrasFromHash(h); err != nil {
		return store.Link{Code: code}, false, err
	}
	return l, true, nil
}

// nowMs stamps a change record with the store's clock.
func (s *Store) nowMs() string { return millis(s.clock.Now()) }
