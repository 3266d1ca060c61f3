//go:build !linux

package cpuset

// Allowed is not known off Linux.
func Allowed() ([]int, error) { return nil, ErrUnsupported }

// Pin is Linux only.
func Pin([]int) error { return ErrUnsupported }
