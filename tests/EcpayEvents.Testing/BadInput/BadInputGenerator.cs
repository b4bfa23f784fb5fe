using System.Globalization;
using System.Text;

namespace EcpayEvents.Testing.BadInput;

/// <summary>What an endpoint's body is, so the generator knows what to break.</summary>
public enum BodyKind
{
    /// <summary>No body is read (GET routes): the defect is in the path, the query, the method or the headers.</summary>
    None,
    /// <summary>A JSON object; <see cref="EndpointSpec.JsonFields"/> are its fields with one valid value each.</summary>
    Json,
    /// <summary>An ECPay form post (application/x-www-form-urlencoded, CheckMacValue).</summary>
    EcpayForm,
}

/// <summary>
/// One public endpoint, as data: the generator builds every request from this and nothing else.
/// <paramref name="PathTemplate"/> may hold <c>{id}</c>, filled with <paramref name="Id"/> or a broken id.
/// <paramref name="Id"/> must name something that exists (a user with no balance, a completed deposit):
/// no request may be one the endpoint would accept, so each carries at least one defect that is fatal.
/// </summary>
public sealed record EndpointSpec(string Name, string Method, string PathTemplate, BodyKind Body, string Id = "1",
    IReadOnlyDictionary<string, string>? JsonFields = null, IReadOnlyDictionary<string, string>? FormFields = null,
    bool IdAlwaysFatal = false);

/// <summary>One generated request: what was broken (for the table and the reproduction) and its bytes.</summary>
public sealed record BadRequest(string Category, byte[] Raw)
{
    public string Head => Encoding.Latin1.GetString(Raw, 0, Math.Min(Raw.Length, 400)).Split("\r\n\r\n")[0];

    /// <summary>The request as text for a failure message (bytes over 0x7F as \xNN), at most 600 characters.</summary>
    public string Printable => string.Concat(Raw.Take(600).Select(b => b is >= 0x20 and < 0x7F ? ((char)b).ToString() : b == '\n' ? "\n" : b == '\r' ? "" : $"\\x{b:X2}"));
}

/// <summary>
/// Builds hostile HTTP/1.1 requests for an <see cref="EndpointSpec"/>: bad percent-encoding, invalid UTF-8,
/// oversized and chunked (also malformed chunked) bodies, duplicate keys, missing fields, SQL and HTML
/// metacharacters, huge / negative / zero / decimal amounts, wrong content types, odd methods. Every
/// request is deterministic for a seed. <see cref="Headers"/> go on every request (an Authorization
/// header, once the API wants one, is one line there).
/// </summary>
public sealed class BadInputGenerator(Uri server, int seed)
{
    private readonly Random random = new(seed);

    /// <summary>Sent with every request, e.g. <c>("Authorization", "Bearer …")</c>.</summary>
    public List<(string Name, string Value)> Headers { get; } = [];

    private static readonly string[] Metacharacters =
    [
        "' OR '1'='1", "'; DROP TABLE users;--", "\" OR 1=1 --", "1; SELECT SLEEP(5)", "admin'--", "%' AND 1=0 UNION SELECT NULL--",
        "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\"><svg/onload=alert(1)>", "&lt;b&gt;", "{{7*7}}", "${jndi:ldap://x}",
        "../../etc/passwd", "\\x00", "\u0000", "\r\nSet-Cookie: a=b", "😀", "ＡＢＣ", "\u202e", "\ufeff",
    ];

    private static readonly string[] BadAmounts =
    [
        "-1", "0", "-0", "1.5", "100.0", "1e3", "1E2", "0.1", "-100", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "99999999999999999999999999", "1e400", "NaN", "Infinity", "\"100\"", "true", "null", "[100]", "{\"v\":100}", "0x10", "+100", "01", "\"\"",
        "1_000", "1,000", "200000", "4", "1.0e2",
    ];

    private static readonly string[] BadIds =
    [
        "0", "-1", "abc", "1.5", "1e3", "99999999999999999999", "9223372036854775808", "%zz", "%", "%C0%AF", "%FF", "1%00", "%2e%2e%2f",
        "1%27%20OR%201=1", "%3Cscript%3E", "+1", "%20", "1%0d%0a", "0x1", "１", "%E2%80%AE1",
    ];

    private static readonly string[] OddMethods = ["PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "FOO", "PROPFIND", "M-SEARCH", "POST", "GET"];

    private static readonly string[] WrongContentTypes =
    [
        "text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/json",
        "application/json; charset=utf-16", "text/html", "application/octet-stream", "*/*", "application/json, text/plain", "", "\u00e9/\u00e9",
    ];

    public BadRequest Next(EndpointSpec endpoint)
    {
        var r = random.Next(100);
        return endpoint.Body switch
        {
            BodyKind.None => r switch
            {
                < 40 => WithBadId(endpoint),
                < 55 => WithOddMethod(endpoint),
                < 70 => WithBadQuery(endpoint),
                < 80 => WithInvalidUtf8Path(endpoint),
                < 90 => WithBodyOnGet(endpoint),
                _ => WithHostileHeaders(endpoint),
            },
            _ => r switch
            {
                < 55 => WithBadBody(endpoint),
                < 65 => WithOddMethod(endpoint),
                < 75 => WithBadId(endpoint),
                < 85 => WithWrongContentType(endpoint),
                _ => WithBadTransfer(endpoint),
            },
        };
    }

    // ---------------------------------------------------------------- categories

    private BadRequest WithBadId(EndpointSpec e)
    {
        if (!e.PathTemplate.Contains("{id}", StringComparison.Ordinal)) return WithBadQuery(e);
        var id = Pick(BadIds);
        var path = e.PathTemplate.Replace("{id}", id, StringComparison.Ordinal);
        var (body, type) = e.Body == BodyKind.None ? ("", "") : BrokenBody(e);
        return Build("bad id / percent-encoding", e.Method, path, type, Encoding.UTF8.GetBytes(body));
    }

    private BadRequest WithOddMethod(EndpointSpec e)
    {
        var method = Pick(OddMethods.Where(m => m != e.Method && !(e.Method == "GET" && m is "HEAD")).ToArray());
        var (body, type) = e.Body == BodyKind.None ? ("", "") : Valid(e);
        // Another method on a real path: 405 (or 404 when nothing is mapped at all). The body may be valid: it is never read.
        return Build("odd method", method, FillId(e), type, Encoding.UTF8.GetBytes(body));
    }

    private BadRequest WithBadQuery(EndpointSpec e)
    {
        // GET routes: a query the route rejects (limit, cursor) or, with a broken id, any junk query.
        string query = random.Next(4) switch
        {
            0 => "limit=" + Pick(["0", "-1", "101", "abc", "1.5", "%zz", "99999999999", "%00", "1%27", ""]) + "&limit=5",
            1 => "cursor=" + Pick(["%zz", "dDA", "AAAA", "' OR 1=1", "dC0x", "%FF%FE", new string('A', 40), "<x>"]),
            2 => "limit=" + Pick(["0", "abc", "1000"]) + "&cursor=" + Pick(["%", "x", "dDA"]),
            _ => Pick(["%", "%zz=1", "a=%C0%AF", "&&&", "=", "a[]=1&a[]=2&limit=0", "limit=%FF"]),
        };
        var path = e.PathTemplate.Contains("{id}", StringComparison.Ordinal) && !e.PathTemplate.EndsWith("/transactions", StringComparison.Ordinal)
            ? e.PathTemplate.Replace("{id}", Pick(BadIds), StringComparison.Ordinal)
            : FillId(e);
        if (e.Body != BodyKind.None && !path.Contains("{", StringComparison.Ordinal))
        {
            var (body, type) = BrokenBody(e);
            return Build("bad query", e.Method, path + "?" + query, type, Encoding.UTF8.GetBytes(body));
        }
        // /users/{id}/transactions with a good id: only a query the route rejects (not the junk one).
        if (path.EndsWith("/transactions", StringComparison.Ordinal) && e.PathTemplate.EndsWith("/transactions", StringComparison.Ordinal))
            query = "limit=" + Pick(["0", "-1", "101", "abc", "1.5", "%zz", "99999999999"]);
        return Build("bad query", e.Method, path + "?" + query, "", []);
    }

    private BadRequest WithInvalidUtf8Path(EndpointSpec e)
    {
        var path = Encoding.UTF8.GetBytes(e.PathTemplate.Replace("{id}", "1", StringComparison.Ordinal));
        var broken = Pick<byte[]>([[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0x00], [0x7F]]);
        var at = e.PathTemplate.Contains("{id}", StringComparison.Ordinal) ? e.PathTemplate.IndexOf("{id}", StringComparison.Ordinal) : path.Length;
        var raw = path[..at].Concat(broken).Concat(path[Math.Min(at + 1, path.Length)..]).ToArray();
        var (body, type) = e.Body == BodyKind.None ? ("", "") : BrokenBody(e);
        return Build("invalid UTF-8 in path", e.Method, raw, type, Encoding.UTF8.GetBytes(body));
    }

    private BadRequest WithBodyOnGet(EndpointSpec e)
    {
        var path = e.PathTemplate.Replace("{id}", Pick(BadIds), StringComparison.Ordinal);
        var body = random.Next(2) == 0 ? Encoding.UTF8.GetBytes("{\"amount\":" + Pick(BadAmounts) + "}") : Bytes(random.Next(1, 40_000));
        return random.Next(2) == 0
            ? Build("body on GET", e.Method, path, "application/json", body)
            : BuildChunked("body on GET (chunked)", e.Method, path, "application/json", body);
    }

    private BadRequest WithHostileHeaders(EndpointSpec e)
    {
        var path = e.PathTemplate.Replace("{id}", Pick(BadIds), StringComparison.Ordinal);
        (string, string) header = random.Next(6) switch
        {
            0 => ("Accept", "text/html"),
            1 => ("If-None-Match", Pick(["*", "\"", "W/", "\"a\", garbage", new string('"', 100)])),
            2 => ("X-Big", new string('a', random.Next(20_000, 40_000))),
            3 => ("Accept", Pick(["application/xml", "image/png", "*/*;q=abc", "text/html, application/json;q=0"])),
            4 => ("Content-Length", Pick(["abc", "-1", "1, 2", "99999999999999999999"])),
            _ => ("Transfer-Encoding", Pick(["gzip", "chunked, identity", "identity"])),
        };
        return Build("hostile headers", e.Method, path, "", [], header);
    }

    private BadRequest WithBadBody(EndpointSpec e)
    {
        var (body, type) = BrokenBody(e);
        var bytes = Encoding.UTF8.GetBytes(body);
        if (random.Next(5) == 0) bytes = InsertInvalidUtf8(bytes);
        return random.Next(4) == 0
            ? BuildChunked("bad body (chunked)", e.Method, FillId(e), type, bytes)
            : Build(bytes.Length != Encoding.UTF8.GetByteCount(body) ? "bad body + invalid UTF-8" : "bad body", e.Method, FillId(e), type, bytes);
    }

    private BadRequest WithWrongContentType(EndpointSpec e)
    {
        var (body, type) = BrokenBody(e);
        var wrong = Pick(WrongContentTypes.Where(t => t != type).ToArray());
        return Build("wrong content type", e.Method, FillId(e), wrong, Encoding.UTF8.GetBytes(body));
    }

    private BadRequest WithBadTransfer(EndpointSpec e)
    {
        var (body, type) = BrokenBody(e);
        switch (random.Next(4))
        {
            case 0:
                return BuildRaw("malformed chunked", e.Method, FillId(e), type, "Transfer-Encoding: chunked\r\n",
                    Encoding.ASCII.GetBytes(Pick(["ffffffff\r\nab\r\n0\r\n\r\n", "zz\r\nab\r\n0\r\n\r\n", "2\r\nabc\r\n0\r\n\r\n", "-1\r\n\r\n", "1;" + new string('x', 5000) + "\r\na\r\n0\r\n\r\n", "100000000\r\n\r\n"])));
            case 1:
                // Oversized: a valid-looking start followed by padding far over any route's limit.
                var big = Encoding.UTF8.GetBytes(body).Concat(Enumerable.Repeat((byte)' ', random.Next(70_000, 300_000))).ToArray();
                return Build("oversized body", e.Method, FillId(e), type, big);
            case 2:
                var bigChunked = Encoding.UTF8.GetBytes(body).Concat(Enumerable.Repeat((byte)'a', random.Next(70_000, 200_000))).ToArray();
                return BuildChunked("oversized chunked body", e.Method, FillId(e), type, bigChunked);
            default:
                return BuildChunked("chunked bad body", e.Method, FillId(e), type, Encoding.UTF8.GetBytes(body), chunkSize: random.Next(1, 8));
        }
    }

    // ---------------------------------------------------------------- bodies (every one fatally wrong)

    private (string Body, string ContentType) Valid(EndpointSpec e) => e.Body switch
    {
        BodyKind.Json => (Json(e.JsonFields!.Select(kv => (kv.Key, kv.Value))), "application/json"),
        BodyKind.EcpayForm => (Form(e.FormFields!.Select(kv => (kv.Key, kv.Value))), "application/x-www-form-urlencoded"),
        _ => ("", ""),
    };

    private (string Body, string ContentType) BrokenBody(EndpointSpec e) => e.Body == BodyKind.Json
        ? (BrokenJson(e.JsonFields!), "application/json")
        : (BrokenForm(e.FormFields!), "application/x-www-form-urlencoded");

    private string BrokenJson(IReadOnlyDictionary<string, string> valid)
    {
        var fields = valid.Select(kv => (kv.Key, kv.Value)).ToList();
        switch (random.Next(9))
        {
            case 0: // a required field missing
                fields.RemoveAt(random.Next(fields.Count));
                return Json(fields);
            case 1: // duplicate keys (even with the same value: which one counts is the parser's guess)
                var d = fields[random.Next(fields.Count)];
                fields.Insert(random.Next(fields.Count + 1), d);
                return Json(fields);
            case 2: // a bad amount (or, without one, a bad value where a string belongs)
                var amountAt = fields.FindIndex(f => f.Key == "amount");
                if (amountAt >= 0) fields[amountAt] = ("amount", Pick(BadAmounts.Where(a => a != "4" && a != "200000" || !valid.ContainsKey("paymentMethod")).ToArray()));
                else fields[random.Next(fields.Count)] = (fields[0].Key, Pick(["1", "true", "null", "[]", "{}", "1.5"]));
                return Json(fields);
            case 3: // SQL / HTML metacharacters where a name belongs (the fields that may hold them are also broken)
                return Json(fields.Select(f => f.Key is "amount" ? (f.Key, Pick(BadAmounts)) : (f.Key, Quote(Pick(Metacharacters) + Pick(["", " ", "x"])))).ToList());
            case 4: // not JSON at all, or almost
                return Pick(["", "{", "}", "[]", "null", "\"x\"", "{\"amount\":", "{'amount':100}", "{\"amount\":100,}", "{\"amount\":100}x", "{/*c*/\"amount\":100}",
                    "{\"amount\":100", "\u0000", new string('[', 5000), "{\"a\":" + new string('[', 200) + "}", "{\"amount\":1e999999}"]);
            case 5: // an unknown field next to missing ones
                return Json([("amount_", "100"), ("paymentmethod", "\"Credit\""), ("__proto__", "{}"), ("username ", "\"alice\"")]);
            case 6: // a value far too long
                var longAt = random.Next(fields.Count);
                fields[longAt] = (fields[longAt].Key, fields[longAt].Key == "amount" ? new string('9', random.Next(30, 4000)) : Quote(new string('a', random.Next(300, 6000))));
                return Json(fields);
            case 7: // a lone surrogate or control character inside a string
                return Json(fields.Select(f => f.Key is "amount" ? (f.Key, Pick(BadAmounts)) : (f.Key, "\"a\\ud800b" + Pick(["", "\\u0000", "\\n", "\t"]) + "\"")).ToList());
            default: // wrong top-level shape
                return Pick(["[" + Json(fields) + "]", "{\"body\":" + Json(fields) + "}", Json(fields).Replace("\"", "'", StringComparison.Ordinal)]);
        }
    }

    private string BrokenForm(IReadOnlyDictionary<string, string> valid)
    {
        var fields = valid.Select(kv => (kv.Key, kv.Value)).ToList();
        switch (random.Next(9))
        {
            case 0: // CheckMacValue missing, or not the right one
                var at = fields.FindIndex(f => f.Key == "CheckMacValue");
                if (random.Next(2) == 0) fields.RemoveAt(at);
                else fields[at] = ("CheckMacValue", Pick([FlipOne(fields[at].Value), fields[at].Value.ToLowerInvariant() + "0", "", new string('A', 64), "' OR 1=1"]));
                return Form(fields);
            case 1: // a signed field changed after signing
                var i = fields.FindIndex(f => f.Key != "CheckMacValue");
                var field = fields[random.Next(fields.Count - 1) is var j && fields[j].Key != "CheckMacValue" ? j : i];
                var k = fields.IndexOf(field);
                fields[k] = (field.Key, field.Key is "TradeAmt" or "RtnCode" ? Pick(BadAmounts) : Pick(Metacharacters));
                return Form(fields);
            case 2: // duplicate keys
                var dup = fields[random.Next(fields.Count)];
                fields.Insert(random.Next(fields.Count + 1), (dup.Key, random.Next(2) == 0 ? dup.Value : "2"));
                return Form(fields);
            case 3: // a required field missing
                var missing = Pick(["MerchantTradeNo", "MerchantID", "RtnCode", "TradeAmt", "CheckMacValue"]);
                fields.RemoveAll(f => f.Key == missing);
                return Form(fields);
            case 4: // bad percent-encoding (raw, not escaped by Form)
                return Form(fields) + "&" + Pick(["Bad=%zz", "Bad=%", "Bad=%C0%AF", "Bad=%FF%FE", "%zz=1", "Bad=%E2%82", "Bad=%ED%A0%80"]);
            case 5: // not a form at all
                return Pick(["", "&", "&&&", "=", "=x", "a", "a=1&&b", "{\"MerchantID\":\"3002607\"}", "MerchantID", new string('&', 3000), "a=" + new string('%', 1000)]);
            case 6: // SQL / HTML in the values that identify the order and the merchant
                fields = fields.Select(f => f.Key is "MerchantTradeNo" or "MerchantID" or "TradeNo" ? (f.Key, Pick(Metacharacters)) : f).ToList();
                return Form(fields);
            case 7: // a huge / negative / decimal amount, unsigned
                fields = fields.Select(f => f.Key == "TradeAmt" ? (f.Key, Pick(BadAmounts)) : f).ToList();
                return Form(fields);
            default: // another merchant's fields (MerchantID swapped), signed with a key that is not ours
                fields = fields.Select(f => f.Key == "MerchantID" ? (f.Key, Pick(["2000132", "3002599", "0", "30026070"])) : f).ToList();
                return Form(fields);
        }
    }

    // ---------------------------------------------------------------- building

    private string FillId(EndpointSpec e) =>
        e.PathTemplate.Replace("{id}", e.IdAlwaysFatal || random.Next(4) == 0 ? Pick(BadIds) : e.Id, StringComparison.Ordinal);

    private BadRequest Build(string category, string method, string path, string contentType, byte[] body, params (string Name, string Value)[] extra) =>
        Build(category, method, Encoding.UTF8.GetBytes(path), contentType, body, extra);

    private BadRequest Build(string category, string method, byte[] path, string contentType, byte[] body, params (string Name, string Value)[] extra)
    {
        var head = new StringBuilder();
        var hasLength = extra.Any(h => h.Name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || h.Name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase));
        if (contentType.Length > 0) head.Append("Content-Type: ").Append(contentType).Append("\r\n");
        if (!hasLength && (body.Length > 0 || method is "POST" or "PUT" or "PATCH")) head.Append("Content-Length: ").Append(body.Length.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        foreach (var (n, v) in extra) head.Append(n).Append(": ").Append(v).Append("\r\n");
        if (extra.Any(h => h.Name == "Content-Length" || h.Name == "Transfer-Encoding")) body = [];
        return Assemble(category, method, path, head.ToString(), body);
    }

    private BadRequest BuildChunked(string category, string method, string path, string contentType, byte[] body, int chunkSize = 4096)
    {
        using var chunks = new MemoryStream();
        for (var i = 0; i < body.Length; i += chunkSize)
        {
            var n = Math.Min(chunkSize, body.Length - i);
            chunks.Write(Encoding.ASCII.GetBytes(n.ToString("x", CultureInfo.InvariantCulture) + "\r\n"));
            chunks.Write(body, i, n);
            chunks.Write("\r\n"u8);
        }
        chunks.Write("0\r\n\r\n"u8);
        return BuildRaw(category, method, path, contentType, "Transfer-Encoding: chunked\r\n", chunks.ToArray());
    }

    private BadRequest BuildRaw(string category, string method, string path, string contentType, string framing, byte[] framedBody) =>
        Assemble(category, method, Encoding.UTF8.GetBytes(path), (contentType.Length > 0 ? $"Content-Type: {contentType}\r\n" : "") + framing, framedBody);

    private BadRequest Assemble(string category, string method, byte[] path, string headers, byte[] body)
    {
        var head = new StringBuilder();
        head.Append("Host: ").Append(server.Authority).Append("\r\n");
        foreach (var (n, v) in Headers) head.Append(n).Append(": ").Append(v).Append("\r\n");
        if (!Headers.Any(h => h.Name.Equals("Accept", StringComparison.OrdinalIgnoreCase)) && !headers.Contains("Accept:", StringComparison.Ordinal))
            head.Append("Accept: ").Append(Pick(["application/json", "text/html", "*/*", "application/problem+json"])).Append("\r\n");
        head.Append(headers).Append("Connection: close\r\n\r\n");
        var raw = Encoding.ASCII.GetBytes(method + " ").Concat(path).Concat(" HTTP/1.1\r\n"u8.ToArray()).Concat(Encoding.UTF8.GetBytes(head.ToString())).Concat(body).ToArray();
        return new BadRequest(category, raw);
    }

    private static string Json(IEnumerable<(string Key, string Value)> fields) =>
        "{" + string.Join(",", fields.Select(f => Quote(f.Key) + ":" + f.Value)) + "}";

    private static string Form(IEnumerable<(string Key, string Value)> fields) =>
        string.Join("&", fields.Select(f => Uri.EscapeDataString(f.Key) + "=" + Uri.EscapeDataString(f.Value)));

    private static string Quote(string s) => System.Text.Json.JsonSerializer.Serialize(s, BadInputJson.Default.String);

    private static string FlipOne(string mac) => mac.Length == 0 ? "0" : (mac[0] == 'A' ? "B" : "A") + mac[1..];

    private byte[] InsertInvalidUtf8(byte[] body)
    {
        var at = body.Length == 0 ? 0 : random.Next(body.Length);
        byte[] bad = Pick<byte[]>([[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80, 0x80]]);
        return body[..at].Concat(bad).Concat(body[at..]).ToArray();
    }

    private byte[] Bytes(int n)
    {
        var b = new byte[n];
        random.NextBytes(b);
        return b;
    }

    private T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class BadInputJson : System.Text.Json.Serialization.JsonSerializerContext;
