package standin

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Redis is one RESP connection, enough for AUTH, PING, SET and GET.
type Redis struct {
	conn   net.Conn
	reader *bufio.Reader
}

// DialRedis connects to addr (host:port, a Service name resolved by the cluster's DNS).
func DialRedis(addr string, timeout time.Duration) (*Redis, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	return &Redis{conn: conn, reader: bufio.NewReader(conn)}, nil
}

// Close closes the connection.
func (r *Redis) Close() { _ = r.conn.Close() }

// Do sends one command and returns its reply as text: "+OK", "-NOAUTH ...", a bulk string's
// content, or "(nil)". A Redis error reply is returned as text, not as an error: callers
// check for refusals by their words.
func (r *Redis) Do(args ...string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := r.conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	line, err := r.reader.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty reply")
	}
	switch line[0] {
	case '+', '-', ':':
		return line, nil
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", fmt.Errorf("bad bulk length %q", line)
		}
		if n < 0 {
			return "(nil)", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r.reader, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}

// RedisRoundTrip authenticates (when password is not empty), then writes and reads back one
// key: what the engine needs of its cache. The error names the step that failed.
func RedisRoundTrip(addr, password, key string) error {
	r, err := DialRedis(addr, 3*time.Second)
	if err != nil {
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	defer r.Close()
	if password != "" {
		reply, err := r.Do("AUTH", password)
		if err != nil || reply != "+OK" {
			return fmt.Errorf("AUTH: %q %v", reply, err)
		}
	}
	value := strconv.FormatInt(time.Now().UnixNano(), 10)
	if reply, err := r.Do("SET", key, value, "EX", "60"); err != nil || reply != "+OK" {
		return fmt.Errorf("SET: %q %v", reply, err)
	}
	if reply, err := r.Do("GET", key); err != nil || reply != value {
		return fmt.Errorf("GET: %q %v", reply, err)
	}
	return nil
}
