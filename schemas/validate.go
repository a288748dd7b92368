package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Validator checks messages against the embedded JSON Schemas. It is safe for
// concurrent use.
type Validator struct {
	request *jsonschema.Schema
	event   *jsonschema.Schema
}

// NewValidator compiles the embedded schemas (draft 2020-12, formats asserted).
func NewValidator() (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	compile := func(file string) (*jsonschema.Schema, error) {
		raw, err := files.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("schemas: read %s: %w", file, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("schemas: parse %s: %w", file, err)
		}
		if err := c.AddResource(file, doc); err != nil {
			return nil, fmt.Errorf("schemas: add %s: %w", file, err)
		}
		s, err := c.Compile(file)
		if err != nil {
			return nil, fmt.Errorf("schemas: compile %s: %w", file, err)
		}
		return s, nil
	}
	var v Validator
	var err error
	if v.request, err = compile("request.v1.schema.json"); err != nil {
		return nil, err
	}
	if v.event, err = compile("case-event.v1.schema.json"); err != nil {
		return nil, err
	}
	return &v, nil
}

// Problem is one violation of a schema, located by a JSON pointer.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists why a message does not match its schema.
type ValidationError struct {
	Schema   string
	Problems []Problem
}

func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		parts = append(parts, p.Field+": "+p.Message)
	}
	return e.Schema + " invalide : " + strings.Join(parts, " ; ")
}

// ValidateRequest checks raw JSON against request.v1.
func (v *Validator) ValidateRequest(data []byte) error {
	return validate(v.request, RequestV1, data)
}

// ValidateEvent checks raw JSON against case-event.v1.
func (v *Validator) ValidateEvent(data []byte) error {
	return validate(v.event, CaseEventV1, data)
}

// DecodeRequest validates raw JSON and decodes it into a Request.
func (v *Validator) DecodeRequest(data []byte) (Request, error) {
	var r Request
	if err := v.ValidateRequest(data); err != nil {
		return r, err
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("schemas: decode request: %w", err)
	}
	return r, nil
}

// EncodeRequest marshals a Request and proves it matches request.v1 before
// anyone publishes it.
func (v *Validator) EncodeRequest(r Request) ([]byte, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("schemas: encode request: %w", err)
	}
	return data, v.ValidateRequest(data)
}

// EncodeEvent marshals a CaseEvent and proves it matches case-event.v1.
func (v *Validator) EncodeEvent(e CaseEvent) ([]byte, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("schemas: encode event: %w", err)
	}
	return data, v.ValidateEvent(data)
}

var printer = message.NewPrinter(language.English)

func validate(s *jsonschema.Schema, name string, data []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return &ValidationError{Schema: name, Problems: []Problem{{Field: "/", Message: "JSON mal formé : " + err.Error()}}}
	}
	err = s.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("schemas: validate %s: %w", name, err)
	}
	out := &ValidationError{Schema: name}
	seen := map[Problem]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			p := Problem{Field: "/" + strings.Join(e.InstanceLocation, "/"), Message: e.ErrorKind.LocalizedString(printer)}
			if !seen[p] {
				seen[p] = true
				out.Problems = append(out.Problems, p)
			}
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.SliceStable(out.Problems, func(i, j int) bool { return out.Problems[i].Field < out.Problems[j].Field })
	return out
}
