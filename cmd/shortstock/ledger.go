package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/ledger"
)

// runLedger serves `shortstock ledger verify|rebuild [flags]`: the stock
// views checked against, or rebuilt from, the movement ledger, on the
// storage the origin flags name. On the embedded store it needs the origin
// stopped (the bbolt file is locked while one runs); on Redis it runs
// beside live origins (verify re-checks a SKU that moved between its two
// reads; rebuild is a compare-and-set per SKU).
func runLedger(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "rebuild") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Println("usage: shortstock ledger verify|rebuild [--sku SKU] [origin flags]\n\n" +
				"verify replays every SKU's movements and exits 1 naming each SKU whose stock view differs;\n" +
				"rebuild writes the replayed view back for each SKU that differs. Run 'shortstock ledger verify -h' for the flags.")
			return nil
		}
		return usageErr("ledger", "want a subcommand: verify or rebuild (see 'shortstock ledger -h')")
	}
	sub := args[0]
	var f originFlags
	var sku string
	fs := newFlagSet("ledger "+sub, "Check (verify) or rebuild (rebuild) the stock views from the movement ledger; takes the origin's flags.")
	f.register(fs)
	fs.StringVar(&sku, "sku", "", "only this SKU (default: every SKU)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if err := f.checkStore("ledger"); err != nil {
		return err
	}
	if sku != "" && !keys.ValidSKU(sku) {
		return usageErr("ledger", "invalid --sku %q", sku)
	}
	log, err := f.log.logger("ledger")
	if err != nil {
		return err
	}
	st, err := openStore(ctx, &f, log)
	if err != nil {
		return err
	}
	defer st.Close()

	out := json.NewEncoder(os.Stdout)
	if sub == "rebuild" {
		var rebuilt []string
		var checked int
		if sku != "" {
			wrote, err := ledger.RebuildSKU(ctx, st, sku)
			if err != nil {
				return err
			}
			checked = 1
			if wrote {
				rebuilt = append(rebuilt, sku)
			}
		} else if checked, err = ledger.Rebuild(ctx, st, func(s string) { rebuilt = append(rebuilt, s) }); err != nil {
			return err
		}
		for _, s := range rebuilt {
			_ = out.Encode(map[string]string{"rebuilt": s})
		}
		fmt.Fprintf(os.Stderr, "ledger rebuild: %d SKUs checked, %d rebuilt\n", checked, len(rebuilt))
		return nil
	}

	var diffs []string
	report := func(d ledger.Diff) {
		diffs = append(diffs, d.SKU)
		_ = out.Encode(d)
	}
	checked := 1
	if sku != "" {
		d, err := ledger.CheckSKU(ctx, st, sku)
		if err != nil {
			return err
		}
		if d != nil {
			report(*d)
		}
	} else if checked, err = ledger.Verify(ctx, st, report); err != nil {
		return err
	}
	if len(diffs) > 0 {
		return fmt.Errorf("ledger verify: %d of %d SKUs differ from their ledger: %s", len(diffs), checked, strings.Join(diffs, ", "))
	}
	fmt.Fprintf(os.Stderr, "ledger verify: %d SKUs checked, every view matches its ledger\n", checked)
	return nil
}
