using System.CommandLine;
using System.Diagnostics.CodeAnalysis;
using EcpayEvents.Cli.CommandLine;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using EcpayEvents.Ecpay;

namespace EcpayEvents.Cli.Commands;

/// <summary>
/// `ecpay-events mac compute|verify` — compute or check a CheckMacValue over a form body read on stdin,
/// with explanations for the usual causes of a mismatch.
/// Exit codes: 0 ok / valid, 1 invalid (verify), 2 bad usage or input.
/// </summary>
public static partial class MacCommand
{
    public static Command Create(CliContext context)
    {
        var md5 = new Option<bool>("--md5") { Description = "MD5 instead of SHA256 (legacy APIs only; EncryptType=1 means SHA256)" };
        var sha256 = new Option<bool>("--sha256") { Description = "SHA256 (the default)" };
        var explain = new Option<bool>("--explain") { Description = "also print the sorted string before encoding and after encoding + lower-casing" };
        var hashKey = new Option<string>("--hash-key") { Description = "HashKey; default $ECPAY_HASH_KEY (keeps it out of shell history)", HelpName = "K" };
        var hashIv = new Option<string>("--hash-iv") { Description = "HashIV; default $ECPAY_HASH_IV", HelpName = "V" };
        foreach (var key in new[] { hashKey, hashIv })
        {
            key.Validators.Add(r =>
            {
                // `--hash-key --md5`: a forgotten value, not a key (ECPay's keys are alphanumeric).
                if (r.Tokens is [{ Value: var v }] && v.StartsWith("--", StringComparison.Ordinal) && !r.Tokens[0].Value.Contains('='))
                    r.AddError($"{key.Name} needs a value (got the option '{v}'; use {key.Name}=VALUE for a value starting with --)");
            });
        }
        var mac = new Command("mac", """
            compute or check an ECPay CheckMacValue over a form body on stdin: k=v&k=v, values percent-encoded UTF-8
            ('+' = space); read as UTF-8 bytes whatever the locale: a leading BOM and one trailing newline (as added by
            echo) are ignored, invalid UTF-8 is bad input (exit 2). The keys come from --hash-key / --hash-iv or, to keep
            them out of shell history, $ECPAY_HASH_KEY / $ECPAY_HASH_IV.
            example: echo -n 'MerchantID=3002607&TotalAmount=100' | ecpay-events mac compute --hash-key pwFHCqoQZGmho4w6 --hash-iv EkRm7iFT261dpevs
            """);
        foreach (var (mode, description) in new[]
        {
            ("compute", "print the CheckMacValue on the last line (any CheckMacValue in the body is ignored); a raw line break or tab inside the body is bad input (percent-encode them: %0A %0D %09)"),
            ("verify", "check the body's CheckMacValue: exit 0 valid, 1 invalid (with hints naming the usual wrong implementation that reproduces it), 2 bad input"),
        })
        {
            var command = new Command(mode, description) { md5, sha256, explain, hashKey, hashIv };
            command.SetAction(parse =>
            {
                using var stdin = context.OpenStdin();
                return Run(mode, parse.GetValue(md5) ? MacAlgorithm.Md5 : MacAlgorithm.Sha256, parse.GetValue(explain),
                    parse.GetValue(hashKey) ?? context.Environment("ECPAY_HASH_KEY"), parse.GetValue(hashIv) ?? context.Environment("ECPAY_HASH_IV"),
                    stdin, context.StdinRedirected, context.Stdout, context.Stderr);
            });
            mac.Subcommands.Add(command);
        }
        return mac;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Decodes stdin as strict UTF-8: a leading BOM (as some editors and PowerShell write) is dropped,
    /// invalid bytes are an error naming the offset.
    /// </summary>
    public static bool TryDecodeStdin(ReadOnlySpan<byte> bytes, out string text, [NotNullWhen(false)] out string? error)
    {
        ReadOnlySpan<byte> bom = [0xEF, 0xBB, 0xBF];
        if (bytes.StartsWith(bom))
        {
            bytes = bytes[bom.Length..];
        }
        error = null;
        try
        {
            text = StrictUtf8.GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException e)
        {
            text = "";
            var offset = e.Index >= 0 ? $" at byte offset {e.Index}" : "";
            var bad = e.BytesUnknown is { Length: > 0 } unknown ? $" (0x{Convert.ToHexString(unknown)})" : "";
            error = $"stdin is not valid UTF-8{offset}{bad}: save the body as UTF-8 (non-ASCII belongs percent-encoded, e.g. %E6%B8%AC)";
            return false;
        }
    }

    public static int Run(string mode, MacAlgorithm algorithm, bool explain, string? hashKey, string? hashIv, Stream stdin, bool stdinRedirected, TextWriter stdout, TextWriter stderr)
    {
        var prefix = $"ecpay-events mac {mode}";
        if (string.IsNullOrEmpty(hashKey))
        {
            stderr.WriteLine($"{prefix}: missing --hash-key (or set ECPAY_HASH_KEY)");
            return 2;
        }
        if (string.IsNullOrEmpty(hashIv))
        {
            stderr.WriteLine($"{prefix}: missing --hash-iv (or set ECPAY_HASH_IV)");
            return 2;
        }
        if (!stdinRedirected)
        {
            stderr.WriteLine($"{prefix}: pipe the form body on stdin, e.g. echo -n 'a=1&b=2' | ecpay-events mac compute ...");
            return 2;
        }

        using var buffer = new MemoryStream();
        try
        {
            stdin.CopyTo(buffer);
        }
        catch (IOException e)
        {
            stderr.WriteLine($"{prefix}: cannot read stdin: {e.Message}");
            return 2;
        }
        if (!TryDecodeStdin(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), out var input, out var decodeError))
        {
            stderr.WriteLine($"{prefix}: {decodeError}");
            return 2;
        }
        var body = StripOneTrailingNewline(input);
        if (body.Length == 0)
        {
            stderr.WriteLine($"{prefix}: empty input on stdin");
            return 2;
        }
        if (mode == "compute" && body.IndexOfAny(['\r', '\n', '\t']) is var control and >= 0)
        {
            // A raw line break or tab inside the body: fields pasted one per line (`a=1` newline `b=2` reads as one
            // field a = "1\nb=2"), or a value whose line break should have been percent-encoded. Either way the MAC
            // would be of something nobody posted: refuse rather than print a confident wrong value. (verify takes
            // a capture as it is and names such whitespace in its hints.)
            var what = body[control] switch { '\r' => "carriage return", '\n' => "line break", _ => "tab" };
            stderr.WriteLine($"{prefix}: raw {what} at character {control + 1} of the body: give it as one line k=v&k=v, with line breaks in values percent-encoded (%0A, %0D, %09)");
            return 2;
        }
        if (!EcpayForm.TryParse(body, out var form, out var error))
        {
            stderr.WriteLine($"{prefix}: malformed form body: {error}");
            return 2;
        }
        return mode == "compute"
            ? Compute(form, hashKey, hashIv, algorithm, explain, stdout)
            : Verify(body, form, hashKey, hashIv, algorithm, explain, stdout, stderr);
    }

    private static int Compute(EcpayForm form, string hashKey, string hashIv, MacAlgorithm algorithm, bool explain, TextWriter stdout)
    {
        var explanation = CheckMacValue.Explain(form, hashKey, hashIv, algorithm);
        if (explain)
        {
            WriteExplanation(explanation, algorithm, stdout);
        }
        stdout.WriteLine(explanation.Value);
        return 0;
    }

    private static int Verify(string body, EcpayForm form, string hashKey, string hashIv, MacAlgorithm algorithm, bool explain, TextWriter stdout, TextWriter stderr)
    {
        var received = form[CheckMacValue.FieldName];
        if (received is null)
        {
            stderr.WriteLine($"ecpay-events mac verify: the input has no CheckMacValue field to verify (use 'mac compute' to compute one)");
            return 2;
        }
        var explanation = CheckMacValue.Explain(form, hashKey, hashIv, algorithm);
        if (explain)
        {
            WriteExplanation(explanation, algorithm, stdout);
        }
        if (CheckMacValue.Verify(form, hashKey, hashIv, algorithm))
        {
            stdout.WriteLine($"valid: CheckMacValue matches ({Name(algorithm)}, {form.Count - 1} signed fields)");
            return 0;
        }
        stdout.WriteLine($"invalid: CheckMacValue does not match ({Name(algorithm)}, {form.Count - 1} signed fields)");
        stdout.WriteLine($"expected: {explanation.Value}");
        stdout.WriteLine($"received: {received}");
        foreach (var hint in Hints(body, form, received, hashKey, hashIv, algorithm))
        {
            stdout.WriteLine($"hint: {hint}");
        }
        return 1;
    }

    private static void WriteExplanation(MacExplanation explanation, MacAlgorithm algorithm, TextWriter stdout)
    {
        if (explanation.IgnoredCheckMacValue)
        {
            stdout.WriteLine("note: the input's CheckMacValue field is ignored (it is never part of the signed string)");
        }
        stdout.WriteLine($"sorted raw string:       {explanation.Raw}");
        stdout.WriteLine($"encoded and lower-cased: {explanation.Encoded}");
        stdout.WriteLine($"{Name(algorithm)} (upper-case hex) of the encoded string:");
    }

    /// <summary>Tries the usual causes of a mismatch and reports the ones that explain it.</summary>
    private static IEnumerable<string> Hints(string body, EcpayForm form, string received, string hashKey, string hashIv, MacAlgorithm algorithm)
    {
        bool Matches(IEnumerable<KeyValuePair<string, string>> fields, MacAlgorithm a) => CheckMacValue.Verify(fields, hashKey, hashIv, a);

        var expectedLength = algorithm == MacAlgorithm.Md5 ? 32 : 64;
        if (received.Length != expectedLength || !received.All(char.IsAsciiHexDigit))
        {
            var trimmed = received.Trim();
            yield return trimmed.Length != received.Length
                ? "the received CheckMacValue has surrounding whitespace (a newline in the captured body?)"
                : $"the received CheckMacValue is {received.Length} characters{(received.All(char.IsAsciiHexDigit) ? "" : " and not all hex")}; {Name(algorithm)} gives {expectedLength} hex digits";
            if (trimmed.Length != received.Length && CheckMacValue.FixedTimeEqualsHex(CheckMacValue.Compute(form, hashKey, hashIv, algorithm), trimmed))
            {
                yield return "it matches once that whitespace is removed";
            }
        }

        var other = algorithm == MacAlgorithm.Md5 ? MacAlgorithm.Sha256 : MacAlgorithm.Md5;
        if (Matches(form, other))
        {
            yield return $"it matches with {Name(other)}: the sender used {Name(other)} instead of {Name(algorithm)} ({(other == MacAlgorithm.Md5 ? "add --md5 if that is right for this API" : "drop --md5")})";
        }

        foreach (var hint in WrongImplementationHints(form, received, hashKey, hashIv, algorithm))
        {
            yield return hint;
        }

        var whitespaceFields = form.Where(f => f.Key != CheckMacValue.FieldName && f.Value.Length > 0 && f.Value.Trim().Length != f.Value.Length).Select(f => f.Key).ToList();
        if (whitespaceFields.Count > 0)
        {
            yield return $"leading/trailing whitespace or newline in the value of {string.Join(", ", whitespaceFields)}";
            var trimmedFields = form.Select(f => f.Key == CheckMacValue.FieldName ? f : new KeyValuePair<string, string>(f.Key, f.Value.Trim()));
            if (Matches(trimmedFields, algorithm))
            {
                yield return "it matches once that whitespace is trimmed: the capture added it (e.g. a newline at the end of the input), or the sender signed trimmed values";
            }
        }
        if (body.Length > 0 && char.IsWhiteSpace(body[^1]))
        {
            yield return "the input ends with whitespace after the last value (only one trailing newline is ignored)";
        }

        var doubleEncoded = form.Where(f => f.Key != CheckMacValue.FieldName && PercentEscape().IsMatch(f.Value)).Select(f => f.Key).ToList();
        if (doubleEncoded.Count > 0)
        {
            yield return $"the value of {string.Join(", ", doubleEncoded)} still contains %XX after decoding: double-encoded?";
            var once = form.Select(f => f.Key == CheckMacValue.FieldName ? f : new KeyValuePair<string, string>(f.Key, WebUtility.UrlDecode(f.Value)));
            if (Matches(once, algorithm))
            {
                yield return "it matches once those values are decoded a second time: the body was encoded twice";
            }
        }

        // Signed over the values as they appear in the body (before percent-decoding)?
        var undecoded = body.Split('&').Select(s =>
        {
            var eq = s.IndexOf('=');
            return eq < 0 ? new KeyValuePair<string, string>(s, "") : new KeyValuePair<string, string>(s[..eq], s[(eq + 1)..]);
        }).ToList();
        if (body.Contains('%') || body.Contains('+'))
        {
            if (Matches(undecoded, algorithm))
            {
                yield return "it matches over the raw, still percent-encoded values: the sender signed before decoding (or the body was captured decoded and re-encoded)";
            }
            else if (body.Contains('+'))
            {
                var plusLiteral = undecoded.Select(f => new KeyValuePair<string, string>(f.Key, WebUtility.UrlDecode(f.Value.Replace("+", "%2B", StringComparison.Ordinal))));
                if (Matches(plusLiteral, algorithm))
                {
                    yield return "it matches if '+' is read as a literal plus sign: the capture lost the %2B encoding";
                }
            }
        }

        var caseCollisions = form.Select(f => f.Key)
            .GroupBy(k => k.ToLowerInvariant(), StringComparer.Ordinal)
            .Where(g => g.Count() > 1)
            .Select(g => string.Join("/", g))
            .ToList();
        if (caseCollisions.Count > 0)
        {
            yield return $"keys differing only by case: {string.Join(", ", caseCollisions)} — their relative order is ambiguous in the sort, and usually one of them is a typo";
        }

        if (form.Any(f => f.Key != CheckMacValue.FieldName && f.Key.Trim().Length != f.Key.Length))
        {
            yield return "a key has surrounding whitespace";
        }

        yield return "every posted field is signed, including empty and unknown ones (NeedExtraPaidInfo adds many): verify over the body exactly as received; also check HashKey/HashIV belong to this MerchantID and stage vs production";
    }

    /// <summary>
    /// A well-known wrong way of computing CheckMacValue (for hints): ECPay's steps (<see cref="CheckMacValue.Explain"/>)
    /// with the given ones done wrong. The correct value is always <see cref="CheckMacValue.Compute"/>'s.
    /// </summary>
    /// <param name="KeyOrder">The signer's sort of the keys instead of ECPay's (lower-cased keys, ordinal); null: ECPay's.</param>
    internal sealed record MacMistake(
        StringComparer? KeyOrder = null,
        bool SpaceAsPercent20 = false,
        bool TildeUnencoded = false,
        bool DropEmptyFields = false,
        bool SwapKeyAndIv = false,
        bool NoLowerCasing = false)
    {
        public string Compute(IEnumerable<KeyValuePair<string, string>> fields, string hashKey, string hashIv, MacAlgorithm algorithm)
        {
            var signed = fields.Where(f => f.Key != CheckMacValue.FieldName && (!DropEmptyFields || f.Value.Length > 0)).ToList();
            var (key, iv) = SwapKeyAndIv ? (hashIv, hashKey) : (hashKey, hashIv);
            // ECPay's sorted raw string, or the same fields joined in the signer's order.
            var raw = KeyOrder is null
                ? CheckMacValue.Explain(signed, key, iv, algorithm).Raw
                : $"HashKey={key}{string.Concat(signed.OrderBy(f => f.Key, KeyOrder).Select(f => $"&{f.Key}={f.Value}"))}&HashIV={iv}";
            // ECPay's encoding (MacExplanation.Encoded: WebUtility.UrlEncode, lower-cased), then the mistakes in it.
            var encoded = WebUtility.UrlEncode(raw);
            if (!NoLowerCasing)
            {
                encoded = encoded.ToLowerInvariant();
            }
            if (SpaceAsPercent20)
            {
                // After WebUtility.UrlEncode a '+' can only come from a space (a literal '+' is %2B).
                encoded = encoded.Replace("+", "%20", StringComparison.Ordinal);
            }
            if (TildeUnencoded)
            {
                encoded = encoded.Replace("%7e", "~", StringComparison.OrdinalIgnoreCase);
            }
            return CheckMacValue.Hash(encoded, algorithm);
        }
    }

    /// <summary>The usual wrong implementations, each with what to tell the operator when it explains the received MAC.</summary>
    internal static IReadOnlyList<(MacMistake Mistake, string Hint)> WrongImplementations { get; } =
    [
        (new MacMistake(SpaceAsPercent20: true), "it matches if the sender encodes spaces as %20 (RFC 3986, e.g. rawurlencode / encodeURIComponent / Uri.EscapeDataString); ECPay uses '+' (.NET WebUtility.UrlEncode / PHP urlencode)"),
        (new MacMistake(TildeUnencoded: true), "it matches if the sender leaves '~' unencoded (like ECPay's Python SDK); ECPay encodes it as %7e"),
        (new MacMistake(SpaceAsPercent20: true, TildeUnencoded: true), "it matches if the sender encodes spaces as %20 and leaves '~' unencoded (RFC 3986 encoding); ECPay uses '+' and %7e"),
        // Ordinal on the keys as they are: upper-case before lower-case ("Zeta" before "alpha").
        (new MacMistake(KeyOrder: StringComparer.Ordinal), "it matches if the keys are sorted ordinally without lower-casing (upper-case first); ECPay sorts the lower-cased keys"),
        // OrdinalIgnoreCase upper-cases: '_' sorts before letters.
        (new MacMistake(KeyOrder: StringComparer.OrdinalIgnoreCase), "it matches if the keys are sorted case-insensitively by upper-casing (StringComparer.OrdinalIgnoreCase: '_' before letters); ECPay sorts the lower-cased keys"),
        (new MacMistake(DropEmptyFields: true), "it matches if empty fields are dropped: the sender left out fields with empty values, but every posted field is signed, empty or not"),
        (new MacMistake(SwapKeyAndIv: true), "it matches with HashKey and HashIV swapped: check which value is which"),
        (new MacMistake(NoLowerCasing: true), "it matches if the encoded string is not lower-cased before hashing (%2F, not %2f); ECPay lower-cases it"),
    ];

    private static IEnumerable<string> WrongImplementationHints(EcpayForm form, string received, string hashKey, string hashIv, MacAlgorithm algorithm)
    {
        var candidate = received.Trim();
        var expected = CheckMacValue.Compute(form, hashKey, hashIv, algorithm);
        foreach (var (mistake, hint) in WrongImplementations)
        {
            var mac = mistake.Compute(form, hashKey, hashIv, algorithm);
            // Only when the mistake changes the result for this input (else it cannot explain the mismatch).
            if (mac != expected && CheckMacValue.FixedTimeEqualsHex(mac, candidate))
            {
                yield return hint;
            }
        }
        var stage = EcpayCredentials.Stage;
        if ((hashKey, hashIv) != (stage.HashKey, stage.HashIv))
        {
            foreach (var a in new[] { algorithm, algorithm == MacAlgorithm.Md5 ? MacAlgorithm.Sha256 : MacAlgorithm.Md5 })
            {
                if (CheckMacValue.FixedTimeEqualsHex(CheckMacValue.Compute(form, stage.HashKey, stage.HashIv, a), candidate))
                {
                    yield return $"it matches with ECPay's public stage keys (MerchantID {stage.MerchantId}){(a == algorithm ? "" : $" and {Name(a)}")}: the sender signed with the stage HashKey/HashIV, not this merchant's";
                }
            }
        }
    }

    private static string StripOneTrailingNewline(string input)
        => input.EndsWith("\r\n", StringComparison.Ordinal) ? input[..^2]
            : input.EndsWith('\n') ? input[..^1]
            : input;

    private static string Name(MacAlgorithm algorithm) => algorithm == MacAlgorithm.Md5 ? "MD5" : "SHA256";

    [GeneratedRegex("%[0-9A-Fa-f]{2}")]
    private static partial Regex PercentEscape();
}
