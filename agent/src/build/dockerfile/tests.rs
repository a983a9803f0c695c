use super::expand;
use super::instruction::{ArgDecl, KeyValue};
use super::*;
use std::collections::HashMap;

fn parse(text: &str) -> Dockerfile {
    Dockerfile::parse_str(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn error(text: &str) -> ParseError {
    match Dockerfile::parse_str(text) {
        Ok(d) => panic!("{text:?} parsed: {d:?}"),
        Err(e) => e,
    }
}

fn only(text: &str) -> Instruction {
    let d = parse(&format!("FROM scratch\n{text}"));
    assert_eq!(d.stages[0].steps.len(), 1, "{text:?}");
    d.stages[0].steps[0].instruction.clone()
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: value.into(),
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn stages_meta_args_and_step_count() {
    let d = parse(
        "ARG BASE=busybox\nFROM $BASE AS build\nRUN make\nFROM busybox\nCOPY --from=build /a /b\n",
    );
    assert_eq!(d.meta_args.len(), 1);
    assert_eq!(d.stages.len(), 2);
    assert_eq!(d.stages[0].from.name.as_deref(), Some("build"));
    assert_eq!(d.stages[0].from.image, "$BASE");
    assert_eq!(d.stages[0].source, "FROM $BASE AS build");
    assert_eq!(d.stages[1].line, 4);
    assert_eq!(d.step_count(), 5);
    assert_eq!(d.stage_index("BUILD"), Some(0));
    assert_eq!(d.stage_index("nope"), None);
}

#[test]
fn instruction_names_are_case_insensitive() {
    let d = parse("from busybox as Base\nrun echo hi\nCmd [\"sh\"]\n");
    assert_eq!(d.stages[0].from.name.as_deref(), Some("base"));
    assert_eq!(
        d.stages[0].steps[0].instruction,
        Instruction::Run(CommandLine::Shell("echo hi".into()))
    );
    assert_eq!(d.stages[0].steps[1].source, "Cmd [\"sh\"]");
}

#[test]
fn continuations_comments_and_blank_lines() {
    let d = parse(
        "FROM busybox\n\n# a comment\nRUN echo a \\\n  # inside\n    && echo b \\\n\n  && echo c\n   # indented comment\nCMD sh\n",
    );
    let steps = &d.stages[0].steps;
    assert_eq!(steps.len(), 2);
    assert_eq!(
        steps[0].instruction,
        Instruction::Run(CommandLine::Shell(
            "echo a     && echo b   && echo c".into()
        ))
    );
    assert_eq!(steps[0].line, 4);
    assert_eq!(steps[1].line, 10);
    assert!(d.warnings.iter().any(|w| w.contains("empty continuation")));
}

#[test]
fn escaped_escape_is_not_a_continuation() {
    let d = parse("FROM busybox\nRUN echo \\\\\nCMD x\n");
    assert_eq!(d.stages[0].steps.len(), 2);
    assert_eq!(
        d.stages[0].steps[0].instruction,
        Instruction::Run(CommandLine::Shell("echo \\\\".into()))
    );
}

#[test]
fn crlf_bom_and_trailing_continuation_at_eof() {
    let d = parse("\u{feff}FROM busybox\r\nRUN a \\\r\n b\r\nRUN c \\");
    assert_eq!(
        d.stages[0].steps[0].instruction,
        Instruction::Run(CommandLine::Shell("a  b".into()))
    );
    assert_eq!(
        d.stages[0].steps[1].instruction,
        Instruction::Run(CommandLine::Shell("c".into()))
    );
}

#[test]
fn escape_directive_switches_to_backtick() {
    let d = parse("# escape=`\nFROM busybox\nRUN dir c:\\ `\n  && echo x\n");
    assert_eq!(d.escape, '`');
    assert_eq!(
        d.stages[0].steps[0].instruction,
        Instruction::Run(CommandLine::Shell("dir c:\\   && echo x".into()))
    );
}

#[test]
fn directives_only_at_the_top() {
    // After a comment, `# escape=` is a comment.
    let d = parse("# hello\n# escape=`\nFROM busybox\nRUN a \\\n b\n");
    assert_eq!(d.escape, '\\');
    // After a blank line too.
    let d = parse("\n# escape=`\nFROM busybox\n");
    assert_eq!(d.escape, '\\');
    let d = parse("# syntax=docker/dockerfile:1\n#escape = `\nFROM busybox\n");
    assert_eq!(d.escape, '`');
    assert!(
        d.warnings.iter().any(|w| w.contains("syntax")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn directive_errors() {
    let e = error("# escape=x\nFROM busybox\n");
    assert_eq!((e.line, e.column), (1, 1));
    assert!(e.message.contains("invalid escape token 'x'"), "{e}");
    let e = error("# escape=\\\n# escape=`\nFROM busybox\n");
    assert_eq!(e.line, 2);
    assert!(
        e.message.contains("only one escape parser directive"),
        "{e}"
    );
}

#[test]
fn unknown_instruction_names_line_and_column() {
    let e = error("FROM busybox\nRUN true\n   FOO bar\n");
    assert_eq!((e.line, e.column), (3, 4));
    assert_eq!(e.message, "unknown instruction: FOO");
    assert_eq!(
        e.to_string(),
        "dockerfile parse error on line 3, column 4: unknown instruction: FOO"
    );
}

#[test]
fn errors_inside_continued_lines_point_at_the_right_line() {
    let e = error("FROM busybox\nCOPY \\\n  --bogus=1 a b\n");
    assert_eq!((e.line, e.column), (3, 3));
    assert!(e.message.contains("unknown flag: --bogus"), "{e}");
}

#[test]
fn instruction_before_from_and_empty_files() {
    let e = error("RUN true\nFROM busybox\n");
    assert_eq!(e.line, 1);
    assert!(e.message.contains("no build stage"), "{e}");
    assert!(error("").message.contains("no instructions"));
    assert!(
        error("# only a comment\n\n")
            .message
            .contains("no instructions")
    );
    assert!(error("ARG A=1\n").message.contains("no FROM"));
}

#[test]
fn from_forms_and_errors() {
    let d = parse("FROM --platform=linux/amd64 busybox:1.36 AS b1\n");
    assert_eq!(
        d.stages[0].from,
        From {
            image: "busybox:1.36".into(),
            name: Some("b1".into()),
            platform: Some("linux/amd64".into())
        }
    );
    assert!(error("FROM a b\n").message.contains("one or three"));
    assert!(
        error("FROM a AS 1x\n")
            .message
            .contains("invalid name for build stage")
    );
    assert!(error("FROM a AS x y\n").message.contains("one or three"));
    let e = error("FROM a AS one\nFROM b AS ONE\n");
    assert_eq!(e.line, 2);
    assert!(e.message.contains("duplicate stage name"), "{e}");
    assert!(error("FROM --plat=x a\n").message.contains("unknown flag"));
    assert!(
        error("FROM --platform a\n")
            .message
            .contains("missing a value")
    );
}

#[test]
fn run_cmd_entrypoint_forms() {
    assert_eq!(
        only("RUN [\"echo\", \"hi there\"]"),
        Instruction::Run(CommandLine::Exec(strings(&["echo", "hi there"])))
    );
    // Not valid JSON: the shell form, verbatim.
    assert_eq!(
        only("RUN [echo, hi]"),
        Instruction::Run(CommandLine::Shell("[echo, hi]".into()))
    );
    assert_eq!(
        only("CMD [\"a\"] trailing"),
        Instruction::Cmd(CommandLine::Shell("[\"a\"] trailing".into()))
    );
    assert_eq!(
        only("CMD"),
        Instruction::Cmd(CommandLine::Shell(String::new()))
    );
    assert_eq!(
        only("ENTRYPOINT []"),
        Instruction::Entrypoint(CommandLine::Exec(vec![]))
    );
    let e = error("FROM x\nRUN [\"a\", 1]\n");
    assert!(e.message.contains("strings only"), "{e}");
    assert_eq!((e.line, e.column), (2, 5));
    assert!(error("FROM x\nRUN\n").message.contains("RUN requires"));
    let e = error("FROM x\nRUN --mount=type=cache,target=/x make\n");
    assert!(e.message.contains("requires BuildKit"), "{e}");
}

#[test]
fn env_and_label_forms() {
    assert_eq!(
        only("ENV A=1 B=\"two words\" C=x\\ y"),
        Instruction::Env(vec![
            kv("A", "1"),
            kv("B", "\"two words\""),
            kv("C", "x\\ y")
        ])
    );
    assert_eq!(
        only("ENV PATH /usr/bin:/bin  and more"),
        Instruction::Env(vec![kv("PATH", "/usr/bin:/bin  and more")])
    );
    assert_eq!(
        only("LABEL \"com.example.vendor\"=\"ACME\" version=1.0"),
        Instruction::Label(vec![
            kv("\"com.example.vendor\"", "\"ACME\""),
            kv("version", "1.0")
        ])
    );
    assert!(
        error("FROM x\nENV A\n")
            .message
            .contains("must have two arguments")
    );
    assert!(
        error("FROM x\nENV A=1 B\n")
            .message
            .contains("can't find =")
    );
    assert!(
        error("FROM x\nENV =1\n")
            .message
            .contains("names can not be blank")
    );
    assert!(error("FROM x\nLABEL\n").message.contains("at least one"));
}

#[test]
fn arg_forms() {
    assert_eq!(
        only("ARG A B=2 C= \"D=x y\""),
        Instruction::Arg(vec![
            ArgDecl {
                name: "A".into(),
                default: None
            },
            ArgDecl {
                name: "B".into(),
                default: Some("2".into())
            },
            ArgDecl {
                name: "C".into(),
                default: Some(String::new())
            },
            ArgDecl {
                name: "\"D".into(),
                default: Some("x y\"".into())
            },
        ])
    );
    assert!(error("FROM x\nARG\n").message.contains("at least one"));
    assert!(error("FROM x\nARG =1\n").message.contains("blank"));
}

#[test]
fn single_argument_instructions() {
    assert_eq!(only("USER app:app"), Instruction::User("app:app".into()));
    assert_eq!(only("WORKDIR /a b"), Instruction::Workdir("/a b".into()));
    assert_eq!(
        only("STOPSIGNAL SIGINT"),
        Instruction::StopSignal("SIGINT".into())
    );
    assert_eq!(
        only("MAINTAINER Jane <j@x>"),
        Instruction::Maintainer("Jane <j@x>".into())
    );
    for bad in ["USER", "WORKDIR", "STOPSIGNAL", "MAINTAINER"] {
        let e = error(&format!("FROM x\n{bad}\n"));
        assert!(e.message.contains("exactly one argument"), "{e}");
    }
}

#[test]
fn expose_volume_shell() {
    assert_eq!(
        only("EXPOSE 80 53/udp  $P"),
        Instruction::Expose(strings(&["80", "53/udp", "$P"]))
    );
    assert_eq!(
        only("VOLUME [\"/data\", \"/logs\"]"),
        Instruction::Volume(strings(&["/data", "/logs"]))
    );
    assert_eq!(
        only("VOLUME /a /b"),
        Instruction::Volume(strings(&["/a", "/b"]))
    );
    assert!(
        error("FROM x\nVOLUME [\"\"]\n")
            .message
            .contains("empty string")
    );
    assert_eq!(
        only("SHELL [\"/bin/bash\", \"-c\"]"),
        Instruction::Shell(strings(&["/bin/bash", "-c"]))
    );
    assert!(
        error("FROM x\nSHELL /bin/bash -c\n")
            .message
            .contains("JSON form")
    );
    assert!(error("FROM x\nSHELL []\n").message.contains("at least one"));
    assert!(error("FROM x\nEXPOSE\n").message.contains("at least one"));
}

#[test]
fn copy_and_add() {
    assert_eq!(
        only("COPY --from=build --chown=app:app --chmod=0640 a b /dst/"),
        Instruction::Copy(CopyArgs {
            sources: strings(&["a", "b"]),
            dest: "/dst/".into(),
            from: Some("build".into()),
            chown: Some("app:app".into()),
            chmod: Some("0640".into()),
            json: false,
        })
    );
    assert_eq!(
        only("ADD [\"my file\", \"/x y/\"]"),
        Instruction::Add(CopyArgs {
            sources: strings(&["my file"]),
            dest: "/x y/".into(),
            json: true,
            ..CopyArgs::default()
        })
    );
    assert_eq!(
        only("COPY -- --weird /d"),
        Instruction::Copy(CopyArgs {
            sources: strings(&["--weird"]),
            dest: "/d".into(),
            ..CopyArgs::default()
        })
    );
    assert!(
        error("FROM x\nCOPY a\n")
            .message
            .contains("at least two arguments")
    );
    assert!(
        error("FROM x\nADD --from=a b c\n")
            .message
            .contains("unknown flag: --from")
    );
    assert!(
        error("FROM x\nCOPY --from= a b\n")
            .message
            .contains("--from requires")
    );
    assert!(
        error("FROM x\nCOPY --chown=a --chown=b a b\n")
            .message
            .contains("duplicate flag")
    );
}

#[test]
fn healthcheck() {
    assert_eq!(
        only("HEALTHCHECK NONE"),
        Instruction::Healthcheck(Health::None)
    );
    assert_eq!(
        only("HEALTHCHECK --interval=30s --retries=3 CMD wget -q localhost"),
        Instruction::Healthcheck(Health::Check {
            test: strings(&["CMD-SHELL", "wget -q localhost"]),
            interval: 30_000_000_000,
            timeout: 0,
            start_period: 0,
            start_interval: 0,
            retries: 3,
        })
    );
    assert_eq!(
        only("HEALTHCHECK --timeout=1m30s CMD [\"/check\", \"-v\"]"),
        Instruction::Healthcheck(Health::Check {
            test: strings(&["CMD", "/check", "-v"]),
            interval: 0,
            timeout: 90_000_000_000,
            start_period: 0,
            start_interval: 0,
            retries: 0,
        })
    );
    assert!(
        error("FROM x\nHEALTHCHECK NONE x\n")
            .message
            .contains("no arguments")
    );
    assert!(
        error("FROM x\nHEALTHCHECK CMD\n")
            .message
            .contains("Missing command")
    );
    assert!(
        error("FROM x\nHEALTHCHECK PING x\n")
            .message
            .contains("Unknown type")
    );
    assert!(
        error("FROM x\nHEALTHCHECK --interval=1us CMD x\n")
            .message
            .contains("less than 1ms")
    );
    assert!(
        error("FROM x\nHEALTHCHECK --retries=-1 CMD x\n")
            .message
            .contains("negative")
    );
    assert!(
        error("FROM x\nHEALTHCHECK --interval=soon CMD x\n")
            .message
            .contains("invalid duration")
    );
}

#[test]
fn onbuild() {
    assert_eq!(
        only("ONBUILD RUN make install"),
        Instruction::Onbuild("RUN make install".into())
    );
    assert_eq!(
        only("onbuild  COPY . /src"),
        Instruction::Onbuild("COPY . /src".into())
    );
    let e = error("FROM x\nONBUILD ONBUILD RUN x\n");
    assert!(e.message.contains("Chaining ONBUILD"), "{e}");
    assert!(
        error("FROM x\nONBUILD FROM y\n")
            .message
            .contains("isn't allowed")
    );
    assert!(
        error("FROM x\nONBUILD MAINTAINER y\n")
            .message
            .contains("isn't allowed")
    );
    let e = error("FROM x\nONBUILD BOGUS y\n");
    assert_eq!((e.line, e.column), (2, 9));
    assert!(e.message.contains("unknown instruction: BOGUS"), "{e}");
    assert!(
        error("FROM x\nONBUILD RUN\n")
            .message
            .contains("RUN requires")
    );
}

#[test]
fn hostile_sizes() {
    let huge_line = format!("FROM busybox\nRUN echo {}\n", "x".repeat(70_000));
    let e = error(&huge_line);
    assert_eq!(e.line, 2);
    assert!(
        e.message.contains("line greater than max allowed size"),
        "{e}"
    );
    let many = format!("FROM busybox\n{}", "ENV A=1\n".repeat(MAX_INSTRUCTIONS + 1));
    assert!(error(&many).message.contains("instructions"));
    let big = vec![b'#'; MAX_DOCKERFILE + 1];
    assert!(
        Dockerfile::parse(&big)
            .unwrap_err()
            .message
            .contains("bytes allowed")
    );
    let e = Dockerfile::parse(b"FROM busybox\nRUN \xff\n").unwrap_err();
    assert_eq!((e.line, e.column), (2, 5));
    assert!(e.message.contains("UTF-8"));
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name: &str| map.get(name).cloned()
}

fn ex(word: &str, vars: &[(&str, &str)]) -> String {
    expand::word(word, '\\', &env(vars)).unwrap_or_else(|e| panic!("{word:?}: {e}"))
}

#[test]
fn expansion_basics() {
    let vars = [("A", "x"), ("EMPTY", ""), ("P", "/usr/bin")];
    assert_eq!(ex("$A", &vars), "x");
    assert_eq!(ex("${A}y", &vars), "xy");
    assert_eq!(ex("$Ay", &vars), "");
    assert_eq!(ex("$UNSET-z", &vars), "-z");
    assert_eq!(ex("a$", &vars), "a$");
    assert_eq!(ex("$ x", &vars), "$ x");
    assert_eq!(ex("${P}:/bin", &vars), "/usr/bin:/bin");
    assert_eq!(ex("'$A'", &vars), "$A");
    assert_eq!(ex("\"$A b\"", &vars), "x b");
    assert_eq!(ex("\\$A", &vars), "$A");
    assert_eq!(ex("\"\\$A \\\" \\x\"", &vars), "$A \" \\x");
    assert_eq!(ex("a\\ b", &vars), "a b");
}

#[test]
fn expansion_modifiers() {
    let vars = [("A", "x"), ("EMPTY", "")];
    assert_eq!(ex("${A:-d}", &vars), "x");
    assert_eq!(ex("${EMPTY:-d}", &vars), "d");
    assert_eq!(ex("${EMPTY-d}", &vars), "");
    assert_eq!(ex("${UNSET-d}", &vars), "d");
    assert_eq!(ex("${UNSET:-$A}", &vars), "x");
    assert_eq!(ex("${A:+set}", &vars), "set");
    assert_eq!(ex("${EMPTY:+set}", &vars), "");
    assert_eq!(ex("${EMPTY+set}", &vars), "set");
    assert_eq!(ex("${UNSET+set}", &vars), "");
    assert_eq!(ex("${A:?}", &vars), "x");
    let fail = |w: &str| expand::word(w, '\\', &env(&vars)).unwrap_err().reason;
    assert_eq!(fail("${UNSET:?need it}"), "UNSET: need it");
    assert_eq!(fail("${EMPTY:?}"), "EMPTY: is not allowed to be empty");
    assert_eq!(fail("${UNSET?}"), "UNSET: is not allowed to be unset");
    assert_eq!(fail("${A"), "syntax error: missing '}'");
    assert_eq!(fail("${A:-x"), "syntax error: missing '}'");
    assert_eq!(fail("${}"), "syntax error: bad substitution");
    assert!(fail("${A%x}").contains("unsupported modifier"));
    assert!(fail("'abc").contains("single-quote"));
    assert!(fail("\"abc").contains("double-quote"));
    let e = expand::word("${A", '\\', &env(&vars)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "failed to process \"${A\": syntax error: missing '}'"
    );
}

#[test]
fn expansion_into_words() {
    let vars = [("PORTS", "80  443/udp")];
    let words = expand::words("$PORTS 8080 \"a b\"", '\\', &env(&vars)).unwrap();
    assert_eq!(words, strings(&["80", "443/udp", "8080", "a b"]));
}

#[test]
fn backtick_escape_in_expansion() {
    let out = expand::word("c:\\dir `$A", '`', &env(&[("A", "x")])).unwrap();
    assert_eq!(out, "c:\\dir $A");
}
