namespace EcpayEvents.Ecpay.Tests;

/// <summary>
/// CheckMacValue (pooled bytes, no intermediate strings) against <see cref="ReferenceCheckMacValue"/> (the
/// framework's WebUtility.UrlEncode, ToLowerInvariant and a LINQ sort) over generated fields: every ASCII
/// char (kept, space, escaped, upper-case), control chars, CJK, non-ASCII upper-case keys, emoji, lone
/// surrogates, null and empty keys and values, keys differing only by case, CheckMacValue fields, values
/// thousands of chars long and more fields than the insertion sort takes; as a list, an array, a lazy
/// sequence, a dictionary and an EcpayForm.
/// </summary>
public sealed class CheckMacValueReferenceTests
{
    private const int Seed = 20_261_207;
    private static readonly EcpayCredentials Stage = EcpayCredentials.Stage;

    private static readonly string[] Pieces =
    [
        .. Enumerable.Range(0x20, 0x5F).Select(c => ((char)c).ToString()), // every printable ASCII char
        "\0", "\t", "\n", "\r", "\u007F", "\u0085",
        "綠", "界", "交易成功", "儲值", "Ａ", "ｂ", "é", "É", "ß", "İ", "ı", "Σ", "ς", "\u212A", "ǅ", "한",
        "😀", "👍🏽", "\uD83D", "\uDE00", "\uDE00\uD83D",
    ];

    private static readonly string[] KnownKeys =
    [
        "MerchantID", "MerchantTradeNo", "RtnCode", "RtnMsg", "TradeNo", "TradeAmt", "PaymentDate", "PaymentType",
        "SimulatePaid", "CustomField1", "StoreID", "Redeem", "red_dan", "vAccount", "a", "A", "a_", "aa", "_a", "",
        "a\0", "a\0b", "ab", "abcd", "abcde", "ABCD_", "checkmacvalue", "CHECKMACVALUE", "Ärger", "ärger", "ÄRGER", "Σίγμα", "σίγμα", "\u212Aey", "key", "KEY",
    ];

    [Fact]
    public void ComputeExplainAndVerifyAgreeWithTheReferenceOnGeneratedFields()
    {
        var random = new Random(Seed);
        var sortPath = 0;
        var longValues = 0;
        for (var n = 0; n < 600; n++)
        {
            var fields = GenerateFields(random);
            var (key, iv) = random.Next(4) == 0 ? (Text(random, 16), Text(random, 16)) : (Stage.HashKey, Stage.HashIv);
            sortPath += fields.Count(f => f.Key != CheckMacValue.FieldName) > 32 ? 1 : 0;
            longValues += fields.Any(f => f.Value?.Length > 1_000) ? 1 : 0;

            foreach (var algorithm in new[] { MacAlgorithm.Sha256, MacAlgorithm.Md5 })
            {
                var expected = ReferenceCheckMacValue.Explain(fields, key, iv, algorithm);
                Assert.Equal(expected, CheckMacValue.Explain(fields, key, iv, algorithm));
                foreach (var shape in Shapes(fields))
                {
                    Assert.Equal(expected.Value, CheckMacValue.Compute(shape, key, iv, algorithm));
                }

                var signed = fields.Where(f => f.Key != CheckMacValue.FieldName).ToList();
                foreach (var mac in Candidates(expected.Value, random))
                {
                    List<KeyValuePair<string, string>> posted = [.. signed, new(CheckMacValue.FieldName, mac)];
                    var shouldVerify = ReferenceCheckMacValue.Verify(posted, key, iv, algorithm);
                    foreach (var shape in Shapes(posted))
                    {
                        Assert.True(shouldVerify == CheckMacValue.Verify(shape, key, iv, algorithm), $"case {n}: MAC '{mac}' should verify: {shouldVerify}");
                    }
                }
                Assert.True(CheckMacValue.Verify([.. signed, new(CheckMacValue.FieldName, expected.Value)], key, iv, algorithm));
                Assert.False(CheckMacValue.Verify([.. signed, new(CheckMacValue.FieldName, expected.Value), new(CheckMacValue.FieldName, expected.Value)], key, iv, algorithm));
            }
        }
        Assert.True(sortPath >= 30, $"only {sortPath} cases had more than 32 signed fields");
        Assert.True(longValues >= 30, $"only {longValues} cases had a value over 1,000 chars");
    }

    [Fact]
    public void AValueOfEveryEscapeClassTensOfThousandsOfCharsLongIsEncodedLikeWebUtility()
    {
        var value = string.Concat(Enumerable.Repeat(string.Concat(Pieces), 300)); // ~30,000 chars, every class
        List<KeyValuePair<string, string>> fields = [new("ItemName", value), new("MerchantID", "3002607")];
        var expected = ReferenceCheckMacValue.Explain(fields, Stage.HashKey, Stage.HashIv, MacAlgorithm.Sha256);
        Assert.Equal(expected, CheckMacValue.Explain(fields, Stage.HashKey, Stage.HashIv));
        Assert.Equal(expected.Value, CheckMacValue.Compute(fields, Stage.HashKey, Stage.HashIv));
        Assert.True(CheckMacValue.Verify([.. fields, new(CheckMacValue.FieldName, expected.Value)], Stage.HashKey, Stage.HashIv));
    }

    [Fact]
    public void TwoHundredFieldsWithKeysDifferingOnlyByCaseSortLikeTheReferenceWhateverTheirOrder()
    {
        var random = new Random(Seed);
        var fields = Enumerable.Range(0, 200)
            .Select(i => new KeyValuePair<string, string>((i % 3) switch { 0 => $"k{i / 3}", 1 => $"K{i / 3}", _ => $"k_{i / 3}" }, i.ToString()))
            .ToList();
        var expected = ReferenceCheckMacValue.Explain(fields, Stage.HashKey, Stage.HashIv, MacAlgorithm.Sha256);
        for (var n = 0; n < 5; n++)
        {
            var shuffled = fields.OrderBy(_ => random.Next()).ToList();
            Assert.Equal(expected.Raw, CheckMacValue.Explain(shuffled, Stage.HashKey, Stage.HashIv).Raw);
            Assert.Equal(expected.Value, CheckMacValue.Compute(shuffled, Stage.HashKey, Stage.HashIv));
        }
    }

    [Fact]
    public void VerifyingAParsedPostAllocatesAlmostNothing()
    {
        var fields = new List<KeyValuePair<string, string>>
        {
            new("MerchantID", "3002607"), new("MerchantTradeNo", "Dep20250101A"), new("RtnCode", "1"), new("RtnMsg", "交易成功"),
            new("TradeAmt", "500"), new("PaymentDate", "2025/01/01 12:05:09"), new("CustomField1", "儲值 500"), new("StoreID", ""),
        };
        fields.Add(new(CheckMacValue.FieldName, CheckMacValue.Compute(fields, Stage.HashKey, Stage.HashIv)));
        var form = EcpayForm.FromFields(fields);
        Assert.True(CheckMacValue.Verify(form, Stage.HashKey, Stage.HashIv)); // warms the pools

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            Assert.True(CheckMacValue.Verify(form, Stage.HashKey, Stage.HashIv));
        }
        var perVerify = (GC.GetAllocatedBytesForCurrentThread() - before) / 100;
        Assert.True(perVerify <= 64, $"{perVerify} bytes allocated per Verify");
    }

    private static List<KeyValuePair<string, string>> GenerateFields(Random random)
    {
        var count = random.Next(10) == 0 ? random.Next(33, 80) : random.Next(0, 20);
        var fields = new List<KeyValuePair<string, string>>(count);
        for (var i = 0; i < count; i++)
        {
            var key = random.Next(12) switch
            {
                0 => null!,
                1 => Text(random, 6),
                2 => CheckMacValue.FieldName,
                _ => KnownKeys[random.Next(KnownKeys.Length)],
            };
            var value = random.Next(40) switch
            {
                0 => null!,
                1 => "",
                2 => Text(random, random.Next(1_000, 6_000)),
                _ => Text(random, random.Next(0, 12)),
            };
            fields.Add(new(key, value));
        }
        return fields;
    }

    private static string Text(Random random, int pieces)
        => string.Concat(Enumerable.Range(0, pieces).Select(_ => Pieces[random.Next(Pieces.Length)]));

    // The same fields as every kind of collection Verify and Compute are handed (the last two only when the fields allow it).
    private static IEnumerable<IEnumerable<KeyValuePair<string, string>>> Shapes(List<KeyValuePair<string, string>> fields)
    {
        yield return fields;
        yield return fields.ToArray();
        yield return Lazy(fields);
        var keys = fields.Select(f => f.Key).ToList();
        if (keys.All(k => k is not null) && keys.Distinct(StringComparer.Ordinal).Count() == keys.Count && fields.All(f => f.Value is not null))
        {
            yield return fields.ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal);
            if (keys.All(k => k.Length > 0)) yield return EcpayForm.FromFields(fields);
        }

        static IEnumerable<KeyValuePair<string, string>> Lazy(List<KeyValuePair<string, string>> fields)
        {
            foreach (var field in fields) yield return field;
        }
    }

    // The right MAC in every case, and near misses: one digit off, too short, too long, not hex, padded, fullwidth, empty.
    private static IEnumerable<string> Candidates(string mac, Random random)
    {
        yield return mac;
        yield return mac.ToLowerInvariant();
        yield return string.Concat(mac.Select((c, i) => i % 2 == 0 ? char.ToLowerInvariant(c) : c));
        var at = random.Next(mac.Length);
        yield return mac[..at] + (mac[at] == '0' ? '1' : '0') + mac[(at + 1)..];
        yield return mac[..^1];
        yield return mac + "0";
        yield return mac[..at] + 'G' + mac[(at + 1)..];
        yield return " " + mac[1..];
        yield return mac[..at] + (char)(mac[at] + 0xFEE0) + mac[(at + 1)..];
        yield return "";
    }
}
