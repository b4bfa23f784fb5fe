using EcpayEvents.Testing;
using System.Net;
using EcpayEvents.Ecpay;

namespace EcpayEvents.Settlement.Tests;

/// <summary>
/// The signing oracle: CheckMacValue joins <c>key=value</c> pairs with '&amp;' unescaped, and the server signs
/// the checkout form — which carries the client's itemName — with the key that verifies ECPay's posts. A
/// client that could put separators in a signed value could have the server sign a string that, split
/// differently, is a "paid" ReturnURL post for another deposit.
/// </summary>
public sealed class SigningOracleTests(StackFixture fixture) : IClassFixture<StackFixture>, IAsyncLifetime
{
    private SettlementStack S => fixture.Stack;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await S.Db.AssertLedgerInvariantAsync();

    [Fact]
    public async Task AnItemNameThatResplitsTheSignedCheckoutIntoAPaidPostCreditsNothing()
    {
        await using var api = await CheckoutApi.StartAsync(S);
        var attacker = await api.CreateUserAsync();
        var target = await api.CreateDepositAsync(attacker, 100, ChoosePayment.Credit); // never paid

        // The fields a paid ReturnURL post needs, smuggled into the item name; "zz" (sorted last) swallows the rest.
        var injected = $"MerchantID={SettlementStack.Credentials.MerchantId}&MerchantTradeNo={target.MerchantTradeNo}&RtnCode=1&TradeAmt=100&TradeNo=2611250000000777";
        var itemName = "points&" + injected + "&zz=";

        var (status, carrier, problem) = await api.RequestDepositAsync(attacker, 100, ChoosePayment.Credit, itemName);
        List<KeyValuePair<string, string>> signed;
        if (carrier is not null)
        {
            signed = await api.CheckoutJsonAsync(carrier.Id); // the server signed the attacker's string
        }
        else
        {
            // Refused at the input, naming the field.
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.True(problem.GetProperty("errors").TryGetProperty("itemName", out _), problem.ToString());
            // Had any other path signed such a string (say a deposit stored before the rule), the post it makes
            // must still be refused: sign a genuine checkout's fields with the item name swapped in.
            var genuine = await api.CreateDepositAsync(attacker, 100, ChoosePayment.Credit);
            signed = (await api.CheckoutJsonAsync(genuine.Id)).Select(f => f.Key == "ItemName" ? new(f.Key, itemName) : f).ToList();
            signed = SignedEcpayPost.Sign(signed.Where(f => f.Key != CheckMacValue.FieldName).ToDictionary()).ToList();
        }

        var forged = Resplit(signed, injected);
        var (answerStatus, answer, _) = await S.PostAsync("/ecpay/return", EcpayForm.ToFormBody(forged));
        await S.WaitForQueueDrainedAsync();

        Assert.Equal("pending", await S.StatusAsync(target.Id));
        Assert.Equal(0, await S.BalanceAsync(attacker));
        Assert.Equal(0, await S.LedgerEntriesAsync(target.Id));
        Assert.Equal((HttpStatusCode.BadRequest, "0|"), (answerStatus, answer[..2]));
    }

    /// <summary>
    /// The same signed string split at other places: the signed fields' joined string is
    /// <c>head&amp;{injected}&amp;zz=tail</c>; the forged post is (head's key = the rest of head), the injected
    /// pairs, and (zz = tail). Sorted, they join to the very same string, so the server's MAC verifies them.
    /// </summary>
    internal static List<KeyValuePair<string, string>> Resplit(List<KeyValuePair<string, string>> signed, string injected)
    {
        var c = SettlementStack.Credentials;
        var mac = signed.Single(f => f.Key == CheckMacValue.FieldName).Value;
        var raw = CheckMacValue.Explain(signed, c.HashKey, c.HashIv).Raw;
        var joined = raw[("HashKey=" + c.HashKey + "&").Length..^("&HashIV=" + c.HashIv).Length];
        var at = joined.IndexOf("&" + injected + "&zz=", StringComparison.Ordinal);
        Assert.True(at > 0, "the injected pairs are not in the signed string");
        var head = joined[..at];
        var tail = joined[(at + 1 + injected.Length + 1)..];
        var forged = new List<KeyValuePair<string, string>> { Pair(head) };
        forged.AddRange(injected.Split('&').Select(Pair));
        forged.Add(Pair(tail));
        Assert.Equal(mac, CheckMacValue.Compute(forged, c.HashKey, c.HashIv)); // the resplit is signed by the same MAC
        forged.Add(new(CheckMacValue.FieldName, mac));
        return forged;

        static KeyValuePair<string, string> Pair(string s) => new(s[..s.IndexOf('=')], s[(s.IndexOf('=') + 1)..]);
    }
}
