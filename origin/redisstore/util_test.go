package redisstore_test

import "net"

// deadAddr returns a loopback address nobody listens on (a port that was
// free a moment ago).
func deadAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	l.Close()
	return addr, nil
}
