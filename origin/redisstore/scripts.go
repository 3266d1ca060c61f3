package redisstore

import (
	"crypto/sha1"
	"embed"
	"encoding/hex"
	"fmt"
)

//go:embed lua/*.lua
var luaFS embed.FS

// script is one Lua script: common.lua followed by its body. Its SHA1 is
// computed here, so EVALSHA needs no SCRIPT LOAD round trip first.
type script struct {
	name string
	src  string
	sha  string
}

func loadScript(name string) *script {
	common, err := luaFS.ReadFile("lua/common.lua")
	if err != nil {
		panic(fmt.Sprintf("redisstore: embedded common.lua: %v", err)) // build defect, caught by any test
	}
	body, err := luaFS.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(fmt.Sprintf("redisstore: embedded %s.lua: %v", name, err))
	}
	src := string(common) + string(body)
	sum := sha1.Sum([]byte(src))
	return &script{name: name, src: src, sha: hex.EncodeToString(sum[:])}
}

// The scripts, loaded once at init from the embedded files.
var (
	scriptLinkCreate   = loadScript("link_create")
	scriptLinkUpdate   = loadScript("link_update")
	scriptLinkDelete   = loadScript("link_delete")
	scriptClicks       = loadScript("clicks")
	scriptStockWrite   = loadScript("stock_write")
	scriptIdemClaim    = loadScript("idem_claim")
	scriptStockRebuild = loadScript("stock_rebuild")
	scriptFeed         = loadScript("feed")
	scriptExtend       = loadScript("extend")
	scriptReserve      = loadScript("reserve")
	scriptCommit       = loadScript("commit")
	scriptRelease      = loadScript("release")
	scriptExpire       = loadScript("expire")
	scriptPurge        = loadScript("purge")
	scriptVisitLease   = loadScript("visit_lease")

	allScripts = []*script{
		scriptLinkCreate, scriptLinkUpdate, scriptLinkDelete, scriptClicks,
		scriptStockWrite, scriptIdemClaim, scriptStockRebuild, scriptFeed, scriptExtend, scriptReserve, scriptCommit,
		scriptRelease, scriptExpire, scriptPurge, scriptVisitLease,
	}
)
