// Package cpuset parses CPU lists ("1", "0,2", "0-3", as taskset -c and
// /sys/devices/system/cpu/online write them) and pins the whole process
// to one: what `--cpu` does on the long-running commands, so that a load
// generator and the servers it measures can run on separate cores.
package cpuset
