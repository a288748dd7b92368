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
	request   *jsonschema.Schema
	event     *jsonschema.Schema
	catalogue *jsonschema.Schema
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
	if v.catalogue, err = compile("catalogue.v1.schema.json"); err != nil {
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

// ValidateCatalogue checks a catalogue file against catalogue.v1; each
// problem names the line of the file it is on ("ligne 42 : /competences/3/teams/0/email : …").
func (v *Validator) ValidateCatalogue(data []byte) error {
	err := validate(v.catalogue, CatalogueV1, data)
	var ve *ValidationError
	if errors.As(err, &ve) {
		lines := pointerLines(data)
		for i, p := range ve.Problems {
			if n, ok := lines[p.Field]; ok {
				ve.Problems[i].Field = fmt.Sprintf("ligne %d : %s", n, p.Field)
			}
		}
	}
	return err
}

// pointerLines maps each JSON pointer of a document to the line its value
// starts on.
func pointerLines(data []byte) map[string]int {
	out := map[string]int{}
	dec := json.NewDecoder(bytes.NewReader(data))
	line := func(off int64) int { return 1 + bytes.Count(data[:min(int(off), len(data))], []byte("\n")) }
	type frame struct {
		path  string
		array bool
		index int
		key   string
	}
	var stack []frame
	expectKey := false
	here := func() string {
		if len(stack) == 0 {
			return ""
		}
		f := stack[len(stack)-1]
		if f.array {
			return fmt.Sprintf("%s/%d", f.path, f.index)
		}
		return f.path + "/" + f.key
	}
	next := func() {
		if len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.array {
				f.index++
			} else {
				expectKey = true
			}
		}
	}
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		// The token starts after any separator and space that precede it.
		start := before
		for start < int64(len(data)) && strings.ContainsRune(" \t\r\n,:", rune(data[start])) {
			start++
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				p := here()
				if p == "" && len(stack) == 0 {
					p = "/"
				}
				if _, ok := out[p]; !ok {
					out[p] = line(start)
				}
				path := here()
				stack = append(stack, frame{path: path, array: t == '['})
				expectKey = t == '{'
			case '}', ']':
				stack = stack[:len(stack)-1]
				next()
			}
		default:
			if expectKey {
				if k, ok := t.(string); ok && len(stack) > 0 {
					stack[len(stack)-1].key = strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
				}
				expectKey = false
				continue
			}
			out[here()] = line(start)
			next()
		}
	}
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
