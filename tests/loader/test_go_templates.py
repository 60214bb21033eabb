"""Go text/template as Atmos runs it (missingkey=error, Go builtins + Sprig): the loader renders
what Go renders, byte for byte, and refuses with a one-line `TemplateError` what it will not render.

Every expected value here is what Go's text/template with Sprig v3 produces for the same template
and the same YAML-decoded data (ints stay ints, floats stay float64). The few places where stackflow
deliberately differs from Go are said so where they are tested: maps/lists/nil are refused as an
action's output, `env`/`expandenv` read only the `environ` passed in, and `keep_missing` keeps an
action as written instead of printing Go's `<no value>`.
"""

from __future__ import annotations

import pytest

from stackflow.stacks_loader.templates import TemplateError, render, root_fields

# What a stack's template data looks like once the YAML is decoded.
DATA = {
    "stack": "plat-ue1-dev",
    "vars": {
        "tenant": "plat",
        "stage": "dev",
        "count": 3,
        "ratio": 2.5,
        "whole": 1.0,
        "enabled": True,
        "zones": ["a", "b", "c"],
        "tags": {"team": "core", "env": "dev"},
        "none": None,
        "empty": [],
        "nested": {"net": {"cidr": "10.0.0.0/16"}, "subnets": ["s1", {"id": "s2"}]},
    },
}


def refused(text: str, *fragments: str, data=DATA, **kwargs) -> str:
    """Render `text`, expecting a one-line TemplateError that contains every fragment."""
    with pytest.raises(TemplateError) as caught:
        render(text, data, **kwargs)
    message = str(caught.value)
    assert "\n" not in message, f"error message is not one line: {message!r}"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


# --- missing keys (missingkey=error) -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "{{ .vars.x }}",
        "{{ if .vars.x }}a{{ end }}",
        "{{ with .vars.x }}a{{ end }}",
        "{{ range .vars.x }}a{{ end }}",
        "{{ .vars.x | upper }}",
        '{{ printf "%s" .vars.x }}',
        '{{ default "d" .vars.x }}',  # the field fails before `default` ever sees a value
        "{{ and true .vars.x }}",
    ],
)
def test_reading_an_undefined_key_is_an_error_naming_its_path(text):
    refused(text, "template value '.vars.x' is not defined")


def test_missing_keys_can_be_probed_without_reading_them():
    # `index` and `hasKey` do not obey missingkey=error; `or` stops at the first true operand
    assert render('{{ index .vars "x" | default "d" }}', DATA) == "d"
    assert render('{{ hasKey .vars "x" }}', DATA) == "false"
    assert render("{{ or true .vars.x }}", DATA) == "true"


def test_a_key_that_is_present_but_null_is_defined_and_falsy():
    assert render("{{ if .vars.none }}set{{ else }}unset{{ end }}", DATA) == "unset"
    assert render('{{ default "d" .vars.none }}', DATA) == "d"


# --- lexing: literals, trim markers, comments ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{ "a\\tb" }}', "a\tb"),  # escapes are interpreted in "…"
        ("{{ `a\\nb` }}", "a\\nb"),  # and not in a raw string
        ("{{ 'a' }}", "97"),  # a character literal is its code point
        ("{{ 42 }}", "42"),
        ("{{ -3 }}", "-3"),
        ("{{ 0x10 }}", "16"),
        ("{{ 0o17 }}", "15"),
        ("{{ 1_000 }}", "1000"),
        ("{{ 1.5 }}", "1.5"),
        ("{{ 3.0 }}", "3"),
        ("{{ 1e3 }}", "1000"),
        ("{{ true }}", "true"),
        ("{{ false }}", "false"),
    ],
)
def test_literals_render_as_go_prints_them(text, expected):
    assert render(text, DATA) == expected


def test_trim_markers_eat_whitespace_on_their_side_only():
    assert render("a  {{- .vars.tenant -}}  b", DATA) == "aplatb"
    assert render("a  {{- .vars.tenant }}  b", DATA) == "aplat  b"
    assert render("a \n {{ .vars.tenant -}} \n b", DATA) == "a \n platb"
    assert render("x {{-3}}", DATA) == "x -3"  # no space after `-`: a negative number, not a trim


def test_comments_render_nothing_and_may_trim():
    assert render("a{{/* a comment */}}b", DATA) == "ab"
    assert render("a {{- /* c }} */ -}} b", DATA) == "ab"
    refused("{{ /* c */ }}")  # a comment must follow the delimiter directly, as in Go


def test_delimiters_inside_literals_are_text_not_actions():
    assert render('{{ "{{" }} .x }}', DATA) == "{{ .x }}"
    assert render("{{`{{ .x }}`}}", DATA) == "{{ .x }}"
    assert render('{{ "}}" }}', DATA) == "}}"


# --- if / with / range / variables ---------------------------------------------------------------


def test_if_else_if_else_takes_the_first_true_branch():
    text = "{{ if eq .vars.stage \"prod\" }}p{{ else if .vars.enabled }}e{{ else }}n{{ end }}"
    assert render(text, DATA) == "e"
    assert render("{{ if false }}a{{ else if 0 }}b{{ else }}c{{ end }}", DATA) == "c"


def test_with_rebinds_dot_and_falls_through_to_else():
    assert render("{{ with .vars.tags }}{{ .team }}-{{ $.stack }}{{ end }}", DATA) == "core-plat-ue1-dev"
    assert render("{{ with .vars.empty }}x{{ else }}none{{ end }}", DATA) == "none"
    assert render('{{ with $t := .vars.tenant }}{{ . }}/{{ $t }}{{ end }}', DATA) == "plat/plat"


def test_else_with_chains_like_else_if():  # Go 1.23
    text = "{{ with .vars.none }}a{{ else with .vars.tenant }}b:{{ . }}{{ else }}c{{ end }}"
    assert render(text, DATA) == "b:plat"
    assert render("{{ with .vars.none }}a{{ else with .vars.empty }}b{{ else }}c{{ end }}", DATA) == "c"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ range .vars.zones }}{{ . }};{{ end }}", "a;b;c;"),
        ("{{ range $i, $z := .vars.zones }}{{ if $i }},{{ end }}{{ $z }}{{ end }}", "a,b,c"),
        ("{{ range $z := .vars.zones }}{{ $z }}{{ end }}", "abc"),
        ("{{ range $k, $v := .vars.tags }}{{ $k }}={{ $v }};{{ end }}", "env=dev;team=core;"),  # sorted keys
        ("{{ range .vars.tags }}{{ . }};{{ end }}", "dev;core;"),  # values, in key order
        ('{{ range $k, $v := dict "z" 1 "a" 2 "m" 3 }}{{ $k }}{{ end }}', "amz"),
        ("{{ range .vars.zones }}{{ $.stack }};{{ end }}", "plat-ue1-dev;plat-ue1-dev;plat-ue1-dev;"),
        ("{{ range .vars.empty }}x{{ else }}empty{{ end }}", "empty"),
        ('{{ range .vars.zones }}{{ if eq . "b" }}{{ break }}{{ end }}{{ . }}{{ end }}', "a"),
        ('{{ range .vars.zones }}{{ if eq . "b" }}{{ continue }}{{ end }}{{ . }}{{ end }}', "ac"),
        ('{{ range (list (dict "n" 1) (dict "n" 2)) }}{{ .n }}{{ end }}', "12"),
        ("{{ range 3 }}{{ . }}{{ end }}", "012"),  # Go 1.22: range over an integer
        ("{{ range $i := 2 }}[{{ $i }}]{{ end }}", "[0][1]"),
        ("{{ range 0 }}x{{ else }}none{{ end }}", "none"),
    ],
)
def test_range_iterates_lists_maps_in_key_order_and_integers(text, expected):
    assert render(text, DATA) == expected


def test_range_over_an_integer_takes_one_variable_only():
    refused("{{ range $i, $v := 3 }}{{ end }}")


def test_variables_declare_assign_and_end_with_their_block():
    assert render('{{ $x := "a" }}{{ $x = "b" }}{{ $x }}', DATA) == "b"
    assert render("{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ end }}{{ $x }}", DATA) == "1"  # shadowed
    assert render("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", DATA) == "2"  # assigned
    assert render('{{ $x := "-" }}{{ range .vars.zones }}{{ $x = . }}{{ end }}{{ $x }}', DATA) == "c"
    assert render("{{ $n := .vars.nested }}{{ $n.net.cidr }}", DATA) == "10.0.0.0/16"
    assert render("{{ $.vars.tenant }}", DATA) == "plat"
    refused("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}", "$y")
    refused("{{ $nope }}", "$nope")


# --- pipelines ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{ .vars.tenant | printf "%s-%s" .stack }}', "plat-ue1-dev-plat"),  # piped value goes last
        ('{{ "abc" | upper | repeat 2 }}', "ABCABC"),
        ("{{ 3 | add 1 | mul 2 }}", "8"),
        ('{{ .vars.zones | join "," | upper }}', "A,B,C"),
        # piped into regexReplaceAll, the value becomes the replacement, not the source
        ('{{ .stack | regexReplaceAll "^([a-z]+)-.*$" "${1}" }}', "${1}"),
        ('{{ (split "-" .stack)._1 }}', "ue1"),  # a field of a parenthesized result
        ('{{ (dict "a" (dict "b" "c")).a.b }}', "c"),
        ("{{ (index .vars.nested.subnets 1).id }}", "s2"),
        ("{{ (.vars.tags).team }}", "core"),
        ('{{ print (add 1 2) (print "a" "b") }}', "3ab"),
    ],
)
def test_pipelines_pass_the_previous_value_as_the_last_argument(text, expected):
    assert render(text, DATA) == expected


# --- truthiness -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "truthy"),
    [
        (False, False), (0, False), (0.0, False), ("", False), (None, False), ([], False), ({}, False),
        (True, True), (1, True), (-1, True), (0.5, True), ("0", True), ("false", True), ([0], True),
        ({"a": None}, True),
    ],
)
def test_truthiness_follows_go(value, truthy):
    expected = "yes" if truthy else "no"
    assert render("{{ if .v }}yes{{ else }}no{{ end }}", {"v": value}) == expected
    assert render("{{ with .v }}yes{{ else }}no{{ end }}", {"v": value}) == expected


# --- Go builtins ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ and 1 0 2 }}", "0"),  # the first false operand
        ("{{ and .vars.tenant .vars.count }}", "3"),  # or the last one
        ('{{ or 0 "" "x" }}', "x"),
        ('{{ or 0 "" }}', ""),
        ("{{ or .vars.none .vars.tenant }}", "plat"),
        ('{{ and false (fail "never called") }}', "false"),  # short-circuit
        ('{{ or 1 (fail "never called") }}', "1"),
        ("{{ not 0 }}", "true"),
        ('{{ not "a" }}', "false"),
    ],
)
def test_and_or_not_short_circuit_and_return_the_deciding_operand(text, expected):
    assert render(text, DATA) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{ len "héllo" }}', "6"),  # bytes, as Go counts
        ("{{ len .vars.zones }}", "3"),
        ("{{ len .vars.tags }}", "2"),
        ("{{ index .vars.zones 1 }}", "b"),
        ('{{ index .vars.tags "team" }}', "core"),
        ('{{ index .vars.nested "subnets" 1 "id" }}', "s2"),
        ('{{ slice .vars.zones 1 | join "," }}', "b,c"),
        ('{{ slice .vars.zones 1 2 | join "," }}', "b"),
        ('{{ urlquery "a b&c" }}', "a+b%26c"),
    ],
)
def test_len_index_slice_and_urlquery(text, expected):
    assert render(text, DATA) == expected


def test_index_and_slice_out_of_range_or_on_a_string_are_errors():
    refused("{{ index .vars.zones 5 }}")
    refused("{{ len 3 }}")
    # Sprig's `slice` replaces Go's builtin in Atmos' function map, and it takes lists only
    refused('{{ slice "abcdef" 1 3 }}')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ print 1 2 }}", "1 2"),  # a space between operands when neither is a string
        ('{{ print "a" "b" }}', "ab"),
        ('{{ print "a" 1 "b" }}', "a1b"),
        ('{{ print 1 "a" 2 }}', "1a2"),
        ("{{ print 1 true }}", "1 true"),
        ('{{ print 1 2.5 "x" true }}', "1 2.5xtrue"),
        ("{{ print .vars.count .vars.whole }}", "3 1"),
        ("{{ print nil }}", "<nil>"),
        ('{{ println "a" 1 }}', "a 1\n"),  # println always spaces, and ends the line
    ],
)
def test_print_and_println_space_operands_as_fmt_does(text, expected):
    assert render(text, DATA) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{ printf "%s/%d/%v/%t" .vars.tenant .vars.count .vars.whole true }}', "plat/3/1/true"),
        ('{{ printf "%q" "a\\"b" }}', '"a\\"b"'),
        ('{{ printf "%x" 255 }}', "ff"),
        ('{{ printf "%x" "hi" }}', "6869"),
        ('{{ printf "%f" 1.5 }}', "1.500000"),
        ('{{ printf "%.2f" 3.14159 }}', "3.14"),
        ('{{ printf "[%5d]" 42 }}', "[   42]"),
        ('{{ printf "[%-5s]" "ab" }}', "[ab   ]"),
        ('{{ printf "%05d" 42 }}', "00042"),
        ('{{ printf "%v" .vars.ratio }}', "2.5"),
        ('{{ printf "100%%" }}', "100%"),
    ],
)
def test_printf_formats_verbs_as_go(text, expected):
    assert render(text, DATA) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ eq 1 1 }}", "true"),
        ('{{ eq .vars.stage "qa" "dev" }}', "true"),  # eq a b c is a==b || a==c
        ("{{ eq .vars.count 3 }}", "true"),
        ("{{ ne 1 2 }}", "true"),
        ("{{ lt 1 2 }}", "true"),
        ("{{ le 2 2 }}", "true"),
        ('{{ gt "b" "a" }}', "true"),
        ("{{ ge 2 3 }}", "false"),
        ("{{ ge 1.5 1.5 }}", "true"),
        ("{{ eq .vars.none nil }}", "true"),
    ],
)
def test_comparisons(text, expected):
    assert render(text, DATA) == expected


@pytest.mark.parametrize(
    "text",
    ['{{ eq "1" 1 }}', "{{ eq 1 1.0 }}", "{{ eq .vars.count .vars.whole }}", "{{ lt 1 1.5 }}", "{{ eq true 1 }}"],
)
def test_comparing_values_of_different_kinds_is_an_error(text):
    refused(text, "incompatible types")


# --- Sprig ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{ upper "aB" }}|{{ lower "aB" }}', "AB|ab"),
        ('{{ title "hello-world foo_bar" }}', "Hello-World Foo_bar"),
        ('{{ trim "  a b  " }}', "a b"),
        ('{{ trimAll "-" "--a-b--" }}', "a-b"),
        ('{{ trimPrefix "plat-" .stack }}', "ue1-dev"),
        ('{{ trimSuffix "-dev" .stack }}', "plat-ue1"),
        ('{{ trunc 3 "abcdef" }}|{{ trunc -2 "abcdef" }}|{{ trunc 10 "abc" }}', "abc|ef|abc"),
        ('{{ substr 1 3 "abcdef" }}|{{ substr 2 -1 "abcdef" }}|{{ substr -1 2 "abcdef" }}', "bc|cdef|ab"),
        ('{{ replace "-" "_" .stack }}', "plat_ue1_dev"),
        ('{{ repeat 3 "ab" }}', "ababab"),
        ('{{ contains "ue1" .stack }}|{{ hasPrefix "plat" .stack }}|{{ hasSuffix "qa" .stack }}', "true|true|false"),
        ('{{ quote "a" "b" }}|{{ quote .vars.count }}|{{ squote "a" }}', '"a" "b"|"3"|\'a\''),
        ('{{ cat "a" 1 nil "b" }}', "a 1 b"),
        ('{{ indent 2 "a\\nb" }}', "  a\n  b"),
        ('{{ nindent 2 "a" }}', "\n  a"),
        ('{{ nospace "a b\\tc" }}', "abc"),
        ('{{ snakecase "FirstName" }}|{{ snakecase "HTTPServer" }}', "first_name|http_server"),
        ('{{ kebabcase "FirstName" }}|{{ kebabcase "GO_PATH" }}', "first-name|go-path"),
        ('{{ camelcase "some_words" }}|{{ camelcase "http_server" }}', "SomeWords|HttpServer"),
    ],
)
def test_sprig_string_functions(text, expected):
    assert render(text, DATA) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{ list 1 2 3 | join "-" }}', "1-2-3"),
        ('{{ join "," (list 1 true "x" nil 2.5) }}', "1,true,x,2.5"),
        ("{{ first .vars.zones }}|{{ last .vars.zones }}", "a|c"),
        ('{{ rest .vars.zones | join "," }}|{{ initial .vars.zones | join "," }}', "b,c|a,b"),
        ('{{ append .vars.zones "d" | join "," }}|{{ join "," .vars.zones }}', "a,b,c,d|a,b,c"),  # no mutation
        ('{{ prepend .vars.zones "z" | join "," }}', "z,a,b,c"),
        ('{{ concat (list 1) .vars.zones | join "," }}', "1,a,b,c"),
        ('{{ uniq (list 1 1 2 1) | join "," }}', "1,2"),
        ('{{ has "b" .vars.zones }}|{{ has "2" (list 1 2) }}', "true|false"),
        ('{{ without (list 1 2 3 2) 2 | join "," }}', "1,3"),
        ('{{ compact (list "a" "" 0 false "b") | join "," }}', "a,b"),
        ('{{ sortAlpha (list "b" "a" "c") | join "," }}|{{ sortAlpha (list 10 9 1) | join "," }}', "a,b,c|1,10,9"),
        ('{{ reverse .vars.zones | join "," }}', "c,b,a"),
        ('{{ (split "-" "a-b")._0 }}|{{ index (split "-" "a-b") "_1" }}', "a|b"),  # split gives a dict
        ('{{ splitList "-" .stack | last }}', "dev"),
    ],
)
def test_sprig_list_functions(text, expected):
    assert render(text, DATA) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{ (dict "a" 1 "b" 2).b }}', "2"),
        ('{{ get .vars.tags "team" }}|{{ get .vars.tags "owner" }}|', "core||"),  # missing: ""
        ('{{ hasKey .vars.tags "team" }}', "true"),
        ('{{ keys .vars.tags | sortAlpha | join "," }}', "env,team"),
        ('{{ values .vars.tags | sortAlpha | join "," }}', "core,dev"),
        ('{{ pick .vars.tags "team" | toJson }}', '{"team":"core"}'),
        ('{{ omit .vars.tags "team" | toJson }}', '{"env":"dev"}'),
        ('{{ dig "net" "cidr" "none" .vars.nested }}', "10.0.0.0/16"),
        ('{{ dig "net" "mask" "none" .vars.nested }}', "none"),
    ],
)
def test_sprig_dict_functions(text, expected):
    assert render(text, DATA) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{ default "d" "" }}|{{ default "d" 0 }}|{{ default "d" false }}|{{ default "d" "x" }}', "d|d|d|x"),
        ('{{ .vars.empty | default "d" }}', "d"),
        ('{{ empty "" }}|{{ empty .vars.zones }}|{{ empty .vars.none }}', "true|false|true"),
        ('{{ coalesce .vars.none "" 0 .vars.tenant "y" }}', "plat"),
        ('{{ ternary "on" "off" .vars.enabled }}|{{ false | ternary "on" "off" }}', "on|off"),
        ('{{ required "tenant is required" .vars.tenant }}', "plat"),
    ],
)
def test_sprig_defaults_and_flow(text, expected):
    assert render(text, DATA) == expected


def test_fail_and_required_stop_the_render_with_their_message():
    refused('{{ fail "no region for this stack" }}', "no region for this stack")
    refused('{{ required "tenant is required" "" }}', "tenant is required")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ toString 1 }}|{{ toString 1.5 }}|{{ toString .vars.whole }}|{{ toString true }}", "1|1.5|1|true"),
        ('{{ toJson (dict "b" .vars.zones "a" 1.0) }}', '{"a":1,"b":["a","b","c"]}'),  # keys sorted
        ('{{ toJson "<a&b>" }}', '"\\u003ca\\u0026b\\u003e"'),  # Go escapes HTML in JSON
        ('{{ toRawJson "<a&b>" }}', '"<a&b>"'),
        ("{{ toPrettyJson .vars.tags }}", '{\n  "env": "dev",\n  "team": "core"\n}'),
        ('{{ (fromJson "{\\"a\\": [1, 2]}").a | len }}', "2"),
        ('{{ (fromJson "{\\"n\\": 2}").n }}', "2"),
        ('{{ atoi "42" }}|{{ atoi "x" }}', "42|0"),
        ('{{ int "42" }}|{{ int 3.9 }}|{{ int64 "7" }}', "42|3|7"),
        ('{{ float64 "1.5" }}|{{ float64 3 }}', "1.5|3"),
        ('{{ toStrings (list 1 "a" true) | join "," }}', "1,a,true"),
    ],
)
def test_sprig_conversions(text, expected):
    assert render(text, DATA) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ add 1 2 3 }}|{{ add .vars.count 2 }}", "6|5"),
        ('{{ add "1" 2 }}|{{ add 1.5 1 }}', "3|2"),  # operands become int64: "1" → 1, 1.5 → 1
        ("{{ add1 5 }}|{{ sub 5 7 }}|{{ mul 2 3 4 }}", "6|-2|24"),
        ("{{ div 7 2 }}|{{ mod 7 3 }}", "3|1"),
        ("{{ max 1 5 3 }}|{{ min 4 2 6 }}", "5|2"),
        ("{{ floor 1.7 }}|{{ ceil 1.2 }}|{{ floor -1.5 }}", "1|2|-2"),
        ("{{ round 2.456 2 }}|{{ round 2.5 0 }}", "2.46|3"),
    ],
)
def test_sprig_math(text, expected):
    assert render(text, DATA) == expected


def test_integer_division_by_zero_is_an_error():
    refused("{{ div 1 0 }}")
    refused("{{ mod 1 0 }}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{ regexMatch "^[a-z]+-[a-z0-9]+-dev$" .stack }}', "true"),
        ('{{ regexFind "[0-9]+" "ab12cd34" }}|{{ regexFind "x" "abc" }}|', "12||"),
        ('{{ regexFindAll "[0-9]+" "ab12cd34" -1 | join "," }}|{{ regexFindAll "[0-9]+" "ab12cd34" 1 | join "," }}',
         "12,34|12"),
        ('{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}', "-W-xxW-"),
        ('{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" }}', "---"),  # Go reads `$1W` as group "1W"
        ('{{ regexReplaceAll "(a)(n)" "banana" "$2$1" }}', "bnanaa"),
        ('{{ regexReplaceAll "(?P<first>\\\\w+) (?P<last>\\\\w+)" "John Smith" "${last}, $first" }}', "Smith, John"),
        ('{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}', "-${1}-${1}-"),
        ('{{ regexSplit "," "a,b,c" -1 | join "|" }}|{{ regexSplit "," "a,b,c" 2 | join "|" }}', "a|b|c|a|b,c"),
    ],
)
def test_sprig_regex_functions_use_go_syntax(text, expected):
    assert render(text, DATA) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{ b64enc "hello" }}|{{ b64dec "aGVsbG8=" }}', "aGVsbG8=|hello"),
        ('{{ "abc" | sha1sum }}', "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ('{{ sha256sum "abc" }}', "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ],
)
def test_sprig_encoding_and_hashes(text, expected):
    assert render(text, DATA) == expected


def test_env_and_expandenv_read_only_the_environ_given(monkeypatch):
    environ = {"A": "1", "B": "2"}
    assert render('{{ env "A" }}|{{ env "NOPE" }}|{{ env "NOPE" | default "d" }}', {}, environ=environ) == "1||d"
    assert render('{{ expandenv "${A}-$B-$NOPE." }}', {}, environ=environ) == "1-2-."
    monkeypatch.setenv("STACKFLOW_ONLY_IN_OS_ENVIRON", "leaked")
    assert render('{{ env "STACKFLOW_ONLY_IN_OS_ENVIRON" }}', {}, environ={}) == ""
    refused('{{ env "STACKFLOW_ONLY_IN_OS_ENVIRON" }}', "env", data={})
    refused('{{ expandenv "$STACKFLOW_ONLY_IN_OS_ENVIRON" }}', "expandenv", data={})


# --- output ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plat", "plat"), (3, "3"), (-7, "-7"), (2.5, "2.5"), (1.0, "1"), (0.1, "0.1"), (True, "true"),
        (False, "false"), (123456.0, "123456"),
        # Go's %v switches to an exponent at 1e6 (and below 1e-4)
        (100000000.0, "1e+08"), (1234567.0, "1.234567e+06"), (0.00001, "1e-05"),
    ],
)
def test_scalars_print_as_go_prints_them(value, expected):
    assert render("{{ .v }}", {"v": value}) == expected


@pytest.mark.parametrize(
    "text",
    [
        "{{ .vars.tags }}", "{{ .vars.zones }}", "{{ .vars.none }}", "{{ . }}", "{{ $ }}",
        "{{ list 1 2 }}", '{{ dict "a" 1 }}', '{{ index .vars "nope" }}', "{{ first (list) }}", "{{ nil }}",
    ],
)
def test_a_map_list_or_nil_as_output_is_refused(text):
    # Go would print `map[…]`, `[…]` or `<no value>` into the YAML; stackflow stops instead
    refused(text)


def test_refusing_a_field_output_names_the_field():
    refused("{{ .vars.tags }}", ".vars.tags")


def test_declarations_output_nothing():
    assert render("{{ $m := .vars.tags }}{{ $m.team }}", DATA) == "core"
    assert render("[{{ $x := 5 }}]", DATA) == "[]"


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("{{ frobnicate .vars.tenant }}", "frobnicate"),
        ('{{ file.Read "secrets.txt" }}', "file.Read"),  # gomplate functions that read the outside world
        ('{{ atmos.Component "vpc" .stack }}', "atmos"),
        ('{{ define "x" }}a{{ end }}', "define"),
        ('{{ template "x" }}', "template"),
        ('{{ block "x" . }}a{{ end }}', "block"),
        ("{{ .vars.tenant", "unclosed"),
        ("{{ end }}", "end"),
        ("{{ if .vars.enabled }}a", "end"),
        ("{{ range .vars.zones }}a", "end"),
        ("{{ else }}", "else"),
        ("{{ break }}", "break"),
    ],
)
def test_unsupported_or_malformed_templates_are_refused_naming_the_offender(text, named):
    refused(text, named)


# --- keep_missing (Atmos' ignore_missing_template_values) -----------------------------------------


def test_keep_missing_leaves_actions_reading_undefined_values_as_written():
    data = {"a": 1, "l": [{"y": 1}]}
    assert render("{{ .a }}-{{ .b }}", data, keep_missing=True) == "1-{{ .b }}"
    assert render("x{{.b}}y{{  .b | upper  }}z", data, keep_missing=True) == "x{{.b}}y{{  .b | upper  }}z"
    assert render('{{ printf "%s-x" .b }}/{{ .a }}', data, keep_missing=True) == '{{ printf "%s-x" .b }}/1'


def test_keep_missing_leaves_a_whole_control_block_when_it_reads_an_undefined_value():
    data = {"a": 1, "l": [{"y": 1}]}
    text = "{{ if .b }}B{{ else }}N{{ end }} {{ .a }}"
    assert render(text, data, keep_missing=True) == "{{ if .b }}B{{ else }}N{{ end }} 1"
    text = "{{ range .l }}{{ .x }}{{ end }}|{{ .a }}"
    assert render(text, data, keep_missing=True) == "{{ range .l }}{{ .x }}{{ end }}|1"
    # a branch not taken reads nothing, so the block renders
    assert render("{{ if .a }}{{ .a }}{{ else }}{{ .b }}{{ end }}", data, keep_missing=True) == "1"


def test_keep_missing_still_raises_every_other_error():
    data = {"a": 1}
    refused('{{ .b }}{{ fail "boom" }}', "boom", data=data, keep_missing=True)
    refused('{{ eq .a "1" }}', "incompatible types", data=data, keep_missing=True)
    refused("{{ frobnicate .b }}", "frobnicate", data=data, keep_missing=True)
    refused("{{ .b }}", "template value '.b' is not defined", data=data)  # and without it, missing raises


# --- scalar: values read by a field step go through it --------------------------------------------


class EnvMarker:
    """Stands in for a value the loader resolves only when it is read (an `!env` tag)."""

    def __init__(self, name: str) -> None:
        self.name = name


class Lazy:
    """Stands in for a section the loader builds only when it is read."""

    def __init__(self, value) -> None:
        self.value = value


def resolve(value):
    if isinstance(value, EnvMarker):
        return f"<{value.name}>"
    if isinstance(value, Lazy):
        return value.value
    return value


def test_scalar_resolves_every_value_a_field_step_reads():
    data = {"vars": Lazy({"region": EnvMarker("REGION"), "tags": {"team": EnvMarker("TEAM")}})}
    assert render("{{ .vars.region }}", data, resolve) == "<REGION>"
    assert render("{{ .vars.region | upper }}", data, resolve) == "<REGION>"
    assert render("{{ .vars.tags.team }}", data, resolve) == "<TEAM>"
    assert render("{{ with .vars }}{{ .region }}{{ end }}", data, resolve) == "<REGION>"
    assert render("{{ $v := .vars }}{{ $v.region }}/{{ $.vars.tags.team }}", data, resolve) == "<REGION>/<TEAM>"


# Atmos renders a component's sections with missingkey=default: an undefined value is Go's
# invalid value (expected outputs from Go + Sprig run with that option).
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{ .vars.nope | default "d" }}', "d"),
        ('{{ default "d" .vars.nope.deeper }}', "d"),
        ("{{ if .vars.nope }}y{{ else }}n{{ end }}", "n"),
        ('{{ if eq .vars.nope "success" }}y{{ else }}n{{ end }}', "n"),
        ('{{ ne .vars.none "x" }}', "true"),
        ("{{ eq .vars.nope .vars.none }}", "true"),
        ('{{ or .vars.nope "x" }}', "x"),
        ("{{ not .vars.nope }}", "true"),
        ('{{ with .vars.nope }}y{{ else }}n{{ end }}', "n"),
        ("{{ range .vars.nope }}y{{ else }}n{{ end }}", "n"),
        ('{{ $x := .vars.nope }}{{ $x | default "q" }}', "q"),
        ('{{ join "," .vars.nope }}', ""),
        ("{{ .vars.nope | toJson }}", "null"),
        ('{{ hasKey .vars "nope" }}', "false"),
    ],
)
def test_an_undefined_value_is_gos_invalid_value_when_missing_is_nil(text, expected):
    assert render(text, DATA, missing_is_nil=True) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{{ .vars.nope }}", "'.vars.nope' is not defined"),  # Go prints <no value>: refused
        ('{{ and .vars.nope "x" }}', "'.vars.nope' is not defined"),
        ("{{ upper .vars.nope }}", "invalid value; expected string"),  # as Go
        ("{{ len .vars.nope }}", "len of nil"),
        ("{{ lt .vars.nope 3 }}", "incompatible types"),
    ],
)
def test_printing_or_misusing_an_undefined_value_is_still_refused(text, fragment):
    refused(text, fragment, missing_is_nil=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [  # encoding/json's float text, checked against Go
        ("{{ toJson 1.5e-7 }}", "1.5e-7"),
        ("{{ toJson 0.00001 }}", "0.00001"),
        ("{{ toJson 1e21 }}", "1e+21"),
        ("{{ toJson 1e20 }}", "100000000000000000000"),
        ('{{ list 1.5 2.0 "a" | toJson }}', '[1.5,2,"a"]'),
        ('{{ fromJson "{bad" | toJson }}', "null"),
    ],
)
def test_to_json_prints_floats_as_go_encoding_json_does(text, expected):
    assert render(text, DATA) == expected


# Gomplate v3's toJSON (ugorji's codec): expected texts printed by that encoder, v1.2.9, whose
# float and string rules are v1.3's, with Canonical as Gomplate sets it
GOMPLATE_DATA = {
    "floats": [1, 2.0, 0.5, 1e-7, 1e21, -0.0, 123456.789, 1e20, 0.000001, 1.5e-5, -1.0,
               4503599627370495.0, 4503599627370496.0, 0.0, 1.0],
    "mixed": {"a": "<x&y>", "q": 'say "hi" \\ there', "u": "é\u2028\b\f\x01\t\n", "c": {}, "d": True, "e": None,
              "z": []},
    "keys": {"zeta": 1, "Alpha": 2, "alpha": 3, "10": 4, "9": 5},
    "nested": ["a", 9007199254740993, -42, {"k": [{"x": 1.25}]}],
    "text": "plain <text>",
    "three": 3.0,
    "pretty": {"a": [1, {}], "b": 1.5, "c": []},
    "whole": [{"x": 1.0}],
    "nonfinite": [float("nan"), float("-inf"), 1.5],
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ toJSON .floats }}", ("[1,2.0,0.5,1e-07,1e+21,-0.0,123456.789,100000000000000000000,0.000001,0.000015,"
                                  "-1.0,4503599627370495.0,4503599627370496,0.0,1.0]")),
        ("{{ .mixed | toJSON }}", ('{"a":"\\u003cx\\u0026y\\u003e","c":{},"d":true,"e":null,'
                                   '"q":"say \\"hi\\" \\\\ there","u":"é\\u2028\\b\\f\\u0001\\t\\n","z":[]}')),
        ("{{ toJSON .nonfinite }}", "[null,null,1.5]"),  # ugorji writes NaN and ±Inf as null
        ("{{ data.ToJSON .keys }}", '{"10":4,"9":5,"Alpha":2,"alpha":3,"zeta":1}'),
        ("{{ toJSON .nested }}", '["a",9007199254740993,-42,{"k":[{"x":1.25}]}]'),
        ("{{ toJSON .text }}", '"plain \\u003ctext\\u003e"'),
        ("{{ toJSON .three }}", "3.0"),
        ('{{ toJSONPretty "  " .pretty }}', '{\n  "a": [\n    1,\n    {}\n  ],\n  "b": 1.5,\n  "c": []\n}'),
        ('{{ .whole | data.ToJSONPretty "\\t" }}', '[\n\t{\n\t\t"x": 1.0\n\t}\n]'),
    ],
)
def test_gomplate_to_json_prints_as_its_encoder_does(text, expected):
    assert render(text, GOMPLATE_DATA) == expected


def test_root_fields_are_the_chains_read_from_the_data_root_not_from_a_rebound_dot():
    text = ('{{ .locals.a }}-{{ printf "%s" (.vars.b | upper) }}'
            "{{ range .locals.list }}{{ .locals.not_root }}{{ $.locals.c }}{{ end }}"
            '{{ with .settings }}{{ .x }}{{ else }}{{ .locals.d }}{{ end }}{{ "{{ .locals.e }}" }}')
    assert root_fields(text) == [("locals", "a"), ("vars", "b"), ("locals", "list"), ("locals", "c"),
                                 ("settings",), ("locals", "d")]
    assert root_fields("no template") == []
    refused("{{ if .x }}", "no {{ end }}")  # and root_fields raises the same TemplateError
    with pytest.raises(TemplateError):
        root_fields("{{ if .x }}")


# --- Gomplate's regexp namespace (gomplate docs; Go's RE2: \w, \d, \s, \b are ASCII-only) -------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{ regexp.Find "[a-z]{3}" "foobar" }}', "foo"),
        ('no {{ "will not match" | regexp.Find "[0-9]" }}numbers', "no numbers"),
        ('{{ regexp.FindAll "[a-z]{3}" "foobar" | toJson }}', '["foo","bar"]'),
        ('{{ regexp.FindAll "[a-z]{3}" 1 "foobar" | toJson }}', '["foo"]'),
        ('{{ regexp.Match "^[a-z]+\\\\[1-9]$" "adam[1]" }}', "false"),
        ('{{ "hello-123" | regexp.Match "[0-9]+$" }}', "true"),
        ('{{ regexp.QuoteMeta "a.b*c{1}" }}', "a\\.b\\*c\\{1\\}"),
        ('{{ regexp.Replace "(foo)bar" "$1" "foobar" }}', "foo"),
        ('{{ regexp.Replace "(?P<first>[a-zA-Z]+) (?P<last>[a-zA-Z]+)" "${last}, ${first}" "Alan Turing" }}',
         "Turing, Alan"),
        ('{{ regexp.ReplaceLiteral "(foo)bar" "$1" "foobar" }}', "$1"),
        ('{{ .c | regexp.ReplaceLiteral "\\\\W" "-" }}', "infra-vpc-x"),  # Atmos examples' workspace names
        ('{{ regexp.ReplaceLiteral "\\\\W" "-" "é" }}', "-"),  # RE2's \W is ASCII-only
        ('{{ regexp.Split "[\\\\s,.]" "foo bar,baz.qux" | toJson }}', '["foo","bar","baz","qux"]'),
        ('{{ regexp.Split "," 2 "a,b,c" | toJson }}', '["a","b,c"]'),
        ('{{ regexp.Find "[0-9]+" 12345 }}', "12345"),  # the input printed as text (conv.ToString)
    ],
)
def test_gomplate_regexp_functions(text, expected):
    assert render(text, {"c": "infra/vpc.x"}) == expected


def test_gomplate_regexp_find_all_takes_two_or_three_arguments():
    with pytest.raises(TemplateError, match="regexp.FindAll"):
        render('{{ regexp.FindAll "a" 1 2 "abc" }}', {})


def test_gomplate_getenv_reads_the_loaders_environment_with_a_default_for_unset_or_empty():
    environ = {"HOME": "/home/ci", "EMPTY": ""}
    text = '{{ getenv "HOME" }}|{{ getenv "NOPE" "dflt" }}|{{ env.Getenv "EMPTY" "x" }}|{{ getenv "NOPE" }}|'
    assert render(text, {}, environ=environ) == "/home/ci|dflt|x||"
    with pytest.raises(TemplateError, match="the environment is not available here"):
        render('{{ getenv "HOME" }}', {})  # where stackflow gives templates no environment


@pytest.mark.parametrize("text", ['{{ regexp.Split "," }}', '{{ regexp.FindAll "a" }}', '{{ regexp.Split "," 1 2 "a" }}'])
def test_gomplate_regexp_with_a_missing_or_extra_argument_is_a_template_error(text):
    with pytest.raises(TemplateError, match="takes a pattern, an optional count and the input"):
        render(text, {})


def test_sprig_round_to_an_absurd_precision_is_go_nan_not_a_crash():  # found by fuzzing
    assert render("{{ round 2.5 -456 }}|{{ round 2.5 999 }}|{{ round 3.14159 2 }}", {}) == "NaN|NaN|3.14"
