// Package localaws is the local AWS that the tests and the local stack (tools/localstack) run
// against: moto_server on a free loopback port, reached through the real SDK clients via
// AWS_ENDPOINT_URL; the tables, buckets, bus, queues and secrets built as template.yaml declares
// them; the one reader of template.yaml; and a fault proxy in front of moto. It does not import
// testing: the local stack's binary links it.
package localaws

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the region every test resource lives in.
const Region = "eu-west-1"

// Moto is a running moto_server.
type Moto struct {
	Endpoint string
	cmd      *exec.Cmd
	done     chan struct{}
}

// motoServer is moto_server with what makes it behave as AWS documents where moto 5 does not
// (DynamoDB requests one at a time, atomic transactions that honour ClientRequestToken) and
// EventBridge rules fast enough for a loaded machine: see the file.
//
//go:embed motoserver.py
var motoServer string

// StartMoto starts moto_server as motoserver.py runs it (MOTO_SERVER names another command, run as
// is, without those guarantees) and points the AWS SDK at it through the environment, so
// production code runs unchanged.
func StartMoto() (*Moto, error) {
	argv, err := motoCommand()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], append(argv[1:], "-H", "127.0.0.1", "-p", fmt.Sprint(port))...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// moto_server runs botocore, which must not see the AWS settings this process points at it
	// (an earlier StartMoto's endpoint, null config files): they break its session set-up.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if os.Getenv("MOTO_LOG") == "" {
		cmd.Stdout, cmd.Stderr = nil, nil
	} else {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting moto_server: %w", err)
	}
	m := &Moto{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(m.done) }()
	if err := m.waitReady(30 * time.Second); err != nil {
		m.Stop()
		return nil, fmt.Errorf("%s: %w (MOTO_LOG=1 shows its output)", argv[0], err)
	}
	// Unset, not empty: botocore inside a later moto_server fails on an empty profile name.
	os.Unsetenv("AWS_PROFILE")
	os.Unsetenv("AWS_SESSION_TOKEN")
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":            m.Endpoint,
		"AWS_REGION":                  Region,
		"AWS_DEFAULT_REGION":          Region,
		"AWS_ACCESS_KEY_ID":           "testing",
		"AWS_SECRET_ACCESS_KEY":       "testing",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		os.Setenv(k, v)
	}
	return m, nil
}

func (m *Moto) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-m.done:
			return errors.New("moto_server exited during start")
		default:
		}
		resp, err := http.Get(m.Endpoint + "/moto-api/data.json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("moto_server not ready after %s", limit)
}

// Stop ends moto_server and its children.
func (m *Moto) Stop() {
	if m == nil || m.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGCONT) // a paused server cannot handle SIGTERM
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-m.done
	}
}

// Pause stops moto_server's processes (SIGSTOP) without ending them: connections are accepted by
// the kernel but never answered, like a service that hangs. Resume continues them, state intact.
func (m *Moto) Pause() error { return syscall.Kill(-m.cmd.Process.Pid, syscall.SIGSTOP) }

// Resume continues a paused moto_server.
func (m *Moto) Resume() error { return syscall.Kill(-m.cmd.Process.Pid, syscall.SIGCONT) }

// Reset wipes every resource, so tests do not see each other's data.
func (m *Moto) Reset() error {
	resp, err := http.Post(m.Endpoint+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// motoCommand is the command that starts the local AWS: MOTO_SERVER as given, else motoServer
// run by the Python interpreter that runs moto_server.
func motoCommand() ([]string, error) {
	if bin := os.Getenv("MOTO_SERVER"); bin != "" {
		path, err := exec.LookPath(bin)
		if err != nil {
			return nil, fmt.Errorf("MOTO_SERVER=%s: %w", bin, err)
		}
		return []string{path}, nil
	}
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("moto_server not found (make tools installs it; MOTO_SERVER names another): %w", err)
	}
	return []string{motoPython(path), "-c", motoServer}, nil
}

// motoPython is the interpreter named by moto_server's "#!" line, or python3 when moto_server is
// a wrapper (a pyenv shim, for example) rather than a Python script.
func motoPython(motoServerPath string) string {
	f, err := os.Open(motoServerPath)
	if err != nil {
		return "python3"
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	interp, ok := strings.CutPrefix(strings.TrimSpace(line), "#!")
	if !ok || strings.ContainsAny(interp, " \t") || !strings.Contains(filepath.Base(interp), "python") {
		return "python3"
	}
	return interp
}

// Config is an SDK configuration for the local AWS, with retries kept short.
func Config(ctx context.Context) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx,
		config.WithRegion(Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
	)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
