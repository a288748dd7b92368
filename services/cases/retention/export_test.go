package retention

// SetBatch makes transactions of n cases, so that tests cross batches.
func (s *Service) SetBatch(n int) { s.batch = n }
