package redisstore

import (
	"crypto/sha1"
	"embed"
	"encoding/hex"
	"fmt"
)

//go:embed lua/*.lua
var luaFS embed.FS

// script is one Lua script: common.lua, then fence.lua for the scripts
// that make versions or seqs (see fence.go), then its body. Its SHA1 is
// computed here, so EVALSHA needs no SCRIPT LOAD round trip first.
type script struct {
	name string
	src  string
	sha  string
}

func loadScript(name string) *script { return load(name, false) }

// loadFenced loads a script that makes versions or seqs: it runs only on
// a node whose partition epoch is active (see fence.go).
func loadFenced(name string) *script { return load(name, true) }

// loadStockWriter loads a fenced script that writes stock through
// stock_apply (lua/stock_apply.lua).
func loadStockWriter(name string) *script { return load(name, true, "stock_apply") }

func load(name string, fenced bool, parts ...string) *script {
	return loadWith("", name, fenced, parts...)
}

// loadWith is load with a first line (a shebang with script flags).
func loadWith(head, name string, fenced bool, parts ...string) *script {
	src := head + embedded("common")
	if fenced {
		src += embedded("fence")
	}
	for _, p := range parts {
		src += embedded(p)
	}
	src += embedded(name)
	sum := sha1.Sum([]byte(src))
	return &script{name: name, src: src, sha: hex.EncodeToString(sum[:])}
}

func embedded(name string) string {
	b, err := luaFS.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(fmt.Sprintf("redisstore: embedded %s.lua: %v", name, err)) // build defect, caught by any test
	}
	return string(b)
}

// The scripts, loaded once at init from the embedded files.
var (
	scriptLinkCreate = loadFenced("link_create")
	scriptLinkUpdate = loadFenced("link_update")
	scriptLinkDelete = loadFenced("link_delete")
	scriptClicks     = loadScript("clicks")
	scriptStockWrite = loadStockWriter("stock_write")
	scriptStockLines = load("stock_write_lines", true, "stock_apply", "write_lines")
	// Several partitions of one node in one call: each partition's epoch
	// is checked by the script itself (no fence.lua), and the flag lets it
	// reach keys of other slots of its node in a cluster.
	// Read-only, several partitions of one node (expire.go).
	scriptHoldsDue     = loadWith("#!lua flags=no-writes,allow-cross-slot-keys\n", "holds_due", false)
	scriptStockParts   = loadWith("#!lua flags=allow-cross-slot-keys\n", "stock_write_parts", false, "stock_apply", "write_lines")
	scriptIdemClaim    = loadScript("idem_claim")
	scriptStockRebuild = loadFenced("stock_rebuild")
	scriptFeed         = loadScript("feed")
	scriptLedgerTrim   = loadScript("ledger_trim")
	scriptLogTrimAge   = loadScript("log_trim_age")
	scriptExtend       = loadScript("extend")
	scriptReserve      = loadFenced("reserve")
	scriptCommit       = loadFenced("commit")
	scriptRelease      = loadFenced("release")
	scriptExpire       = loadFenced("expire")
	scriptPurge        = loadFenced("purge")
	scriptFencePrepare = loadScript("fence_prepare")
	scriptFenceActive  = loadScript("fence_activate")
	scriptJobCreate    = loadScript("job_create")
	scriptJobClaim     = loadScript("job_claim")
	scriptJobProgress  = loadScript("job_progress")
	scriptJobEnqueue   = loadScript("job_enqueue")
	scriptJobDequeue   = loadScript("job_dequeue")
	scriptVisitLease   = loadScript("visit_lease")

	allScripts = []*script{
		scriptLinkCreate, scriptLinkUpdate, scriptLinkDelete, scriptClicks,
		scriptStockWrite, scriptStockLines, scriptIdemClaim, scriptStockRebuild, scriptFeed, scriptLedgerTrim, scriptExtend, scriptReserve, scriptCommit,
		scriptRelease, scriptExpire, scriptPurge, scriptFencePrepare, scriptFenceActive,
		scriptJobCreate, scriptJobClaim, scriptJobProgress, scriptJobEnqueue, scriptJobDequeue, scriptVisitLease,
	}
)
