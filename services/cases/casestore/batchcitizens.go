package casestore

import (
	"context"
	"fmt"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// batchCitizen is a citizen as the batch resolves them.
type batchCitizen struct {
	id                 int64 // 0 until created
	name, email, phone string
	isNew, changed     bool
}

// resolveCitizens resolves every item's citizen as ResolveCitizen would,
// one after the other, on the rows read in one query; then creates the
// new ones and completes the others in one statement each.
func (t *RouteTx) resolveCitizens(ctx context.Context) error {
	b := t.batch
	var emails, phones []string
	for _, it := range b.items {
		if it.Identity.Email != "" {
			emails = append(emails, it.Identity.Email)
		}
		if it.Identity.Phone != "" {
			phones = append(phones, it.Identity.Phone)
		}
	}
	byEmail, byPhone := map[string]*batchCitizen{}, map[string]*batchCitizen{}
	if len(emails)+len(phones) > 0 {
		rows, err := t.tx.Query(ctx, `
			SELECT id, COALESCE(name, ''), COALESCE(email, ''), COALESCE(phone, '') FROM citizens
			WHERE email = ANY($1::text[]) OR phone = ANY($2::text[])`, emails, phones)
		if err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: find citizens: %w", err))
		}
		for rows.Next() {
			c := &batchCitizen{}
			if err := rows.Scan(&c.id, &c.name, &c.email, &c.phone); err != nil {
				rows.Close()
				return fault.E(fault.Transient, fmt.Errorf("casestore: find citizens: %w", err))
			}
			if c.email != "" {
				byEmail[c.email] = c
			}
			if c.phone != "" {
				byPhone[c.phone] = c
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: find citizens: %w", err))
		}
	}
	// In the items' order, as one ResolveCitizen after the other would.
	who := make([]*batchCitizen, len(b.items))
	var created []*batchCitizen
	for i, it := range b.items {
		id := it.Identity
		if id.Email == "" && id.Phone == "" && id.Name == "" {
			continue
		}
		c := byEmail[id.Email]
		if c == nil || id.Email == "" {
			c = nil
			if id.Phone != "" {
				c = byPhone[id.Phone]
			}
		}
		if c == nil {
			c = &batchCitizen{name: id.Name, email: id.Email, phone: id.Phone, isNew: true}
			created = append(created, c)
		} else {
			// completeCitizen: what the record lacks, unless another holds it.
			if c.name == "" && id.Name != "" {
				c.name, c.changed = id.Name, true
			}
			if c.email == "" && id.Email != "" && byEmail[id.Email] == nil {
				c.email, c.changed = id.Email, true
			}
			if c.phone == "" && id.Phone != "" && byPhone[id.Phone] == nil {
				c.phone, c.changed = id.Phone, true
			}
		}
		if c.email != "" {
			byEmail[c.email] = c
		}
		if c.phone != "" {
			byPhone[c.phone] = c
		}
		who[i] = c
	}
	if err := t.createCitizens(ctx, created); err != nil {
		return err
	}
	if err := t.completeCitizens(ctx, who); err != nil {
		return err
	}
	b.citizen = make([]int64, len(b.items))
	for i, c := range who {
		if c != nil {
			b.citizen[i] = c.id
		}
	}
	return nil
}

// createCitizens inserts the batch's new citizens in one statement. One
// that another transaction created meanwhile (same e-mail or phone) is
// found again instead.
func (t *RouteTx) createCitizens(ctx context.Context, created []*batchCitizen) error {
	if len(created) == 0 {
		return nil
	}
	names, emails, phones := make([]string, len(created)), make([]string, len(created)), make([]string, len(created))
	for i, c := range created {
		names[i], emails[i], phones[i] = c.name, c.email, c.phone
	}
	rows, err := t.tx.Query(ctx, `
		INSERT INTO citizens (name, email, phone)
		SELECT NULLIF(n, ''), NULLIF(e, ''), NULLIF(p, '') FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS x(n, e, p, o)
		ORDER BY e, p, o -- one order for every batch: two batches creating the same people do not deadlock
		ON CONFLICT DO NOTHING
		RETURNING id, COALESCE(name, ''), COALESCE(email, ''), COALESCE(phone, '')`, names, emails, phones)
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("%w: create citizens: %w", errBatchWrite, err))
	}
	type key struct{ name, email, phone string }
	got := map[key][]int64{}
	for rows.Next() {
		var id int64
		var k key
		if err := rows.Scan(&id, &k.name, &k.email, &k.phone); err != nil {
			rows.Close()
			return fault.E(fault.Transient, fmt.Errorf("%w: create citizens: %w", errBatchWrite, err))
		}
		got[k] = append(got[k], id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("%w: create citizens: %w", errBatchWrite, err))
	}
	for _, c := range created {
		// Citizens known by their name alone are each a new row: any of
		// the ids returned for that name is one of them.
		k := key{c.name, c.email, c.phone}
		if ids := got[k]; len(ids) > 0 {
			c.id, got[k] = ids[0], ids[1:]
			continue
		}
		// Another transaction created the same person meanwhile.
		id, err := t.ResolveCitizen(ctx, Identity{Name: c.name, Email: c.email, Phone: c.phone})
		if err != nil {
			return err
		}
		c.id, c.isNew = id, false
	}
	return nil
}

// completeCitizens writes what the batch's known citizens gained (a name,
// an e-mail or a phone they lacked), in one statement.
func (t *RouteTx) completeCitizens(ctx context.Context, who []*batchCitizen) error {
	var ids []int64
	var names, emails, phones []string
	seen := map[int64]bool{}
	for _, c := range who {
		if c == nil || c.isNew || !c.changed || seen[c.id] {
			continue
		}
		seen[c.id] = true
		ids, names, emails, phones = append(ids, c.id), append(names, c.name), append(emails, c.email), append(phones, c.phone)
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := t.tx.Exec(ctx, `
		UPDATE citizens c SET
		    name  = COALESCE(c.name, NULLIF(x.n, '')),
		    email = CASE WHEN c.email IS NULL AND x.e <> '' AND NOT EXISTS (SELECT 1 FROM citizens o WHERE o.email = x.e) THEN x.e ELSE c.email END,
		    phone = CASE WHEN c.phone IS NULL AND x.p <> '' AND NOT EXISTS (SELECT 1 FROM citizens o WHERE o.phone = x.p) THEN x.p ELSE c.phone END,
		    updated_at = now()
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS x(id, n, e, p)
		WHERE c.id = x.id`, ids, names, emails, phones); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("%w: complete citizens: %w", errBatchWrite, err))
	}
	return nil
}

// batchCitizenOf is the citizen the batch resolved for the item being
// routed, if id is that item's identity.
func (t *RouteTx) batchCitizenOf(id Identity) (int64, bool) {
	b := t.batch
	if b == nil || b.citizen == nil || b.items[b.item].Identity != id {
		return 0, false
	}
	return b.citizen[b.item], true
}

// prefetchOpenCases reads the open cases of every citizen of the batch,
