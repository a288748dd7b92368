package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// clockTicks is the kernel's USER_HZ, the unit of /proc/*/stat times: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// selfCPU is the CPU time this process has used.
func selfCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// postgresCPU is the CPU time used so far by the PostgreSQL server conn is
// connected to — its postmaster, with the children it has reaped, and the
// children still running — when it runs on this machine; false otherwise.
func postgresCPU(ctx context.Context, conn *pgx.Conn) (time.Duration, bool) {
	var backend int
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		return 0, false
	}
	st, ok := procStat(backend)
	if !ok || !strings.Contains(st.comm, "postgres") && !strings.Contains(st.comm, "postmaster") {
		return 0, false
	}
	pm, ok := procStat(st.ppid)
	if !ok {
		return 0, false
	}
	ticks := pm.utime + pm.stime + pm.cutime + pm.cstime
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if c, ok := procStat(pid); ok && c.ppid == st.ppid {
			ticks += c.utime + c.stime
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks, true
}

type procTimes struct {
	comm                         string
	ppid                         int
	utime, stime, cutime, cstime int64
}

// procStat reads /proc/PID/stat (proc(5)): the command is in parentheses
// and may hold spaces; fields 4, 14–17 follow it.
func procStat(pid int) (procTimes, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procTimes{}, false
	}
	return parseProcStat(string(b))
}

func parseProcStat(s string) (procTimes, bool) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procTimes{}, false
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 15 {
		return procTimes{}, false
	}
	num := func(i int) int64 { n, _ := strconv.ParseInt(f[i], 10, 64); return n }
	return procTimes{comm: s[open+1 : end], ppid: int(num(1)), utime: num(11), stime: num(12), cutime: num(13), cstime: num(14)}, true
}

// processCPU is the CPU time used so far by the process pid (with the
// children it has reaped).
func processCPU(pid int) (time.Duration, bool) {
	st, ok := procStat(pid)
	if !ok {
		return 0, false
	}
	return time.Duration(st.utime+st.stime+st.cutime+st.cstime) * time.Second / clockTicks, true
}
