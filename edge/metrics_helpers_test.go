package edge

import (
	"strings"
)

// testutilCounter returns the value of an unlabelled-but-for-region/node
// metric from /_/metrics, as text ("" if absent).
func testutilCounter(e *testEdge, name string) string {
	for _, line := range strings.Split(e.get("/_/metrics").body, "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			f := strings.Fields(line)
			return f[len(f)-1]
		}
	}
	return ""
}
