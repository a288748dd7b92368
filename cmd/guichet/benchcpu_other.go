//go:build !linux

package main

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// selfCPU is not measured outside Linux.
func selfCPU() (time.Duration, bool) { return 0, false }

// postgresCPU is not measured outside Linux.
func postgresCPU(context.Context, *pgx.Conn) (time.Duration, bool) { return 0, false }

// processCPU is not measured outside Linux.
func processCPU(int) (time.Duration, bool) { return 0, false }
