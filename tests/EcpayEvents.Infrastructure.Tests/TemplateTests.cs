using System.Text.RegularExpressions;
using EcpayEvents.Testing;
using YamlDotNet.RepresentationModel;

namespace EcpayEvents.Infrastructure.Tests;

/// <summary>template.yaml is what deploys: check it against the repository it deploys.</summary>
public sealed partial class TemplateTests
{
    private static readonly string TemplatePath = Path.Combine(RepoPaths.Root, "template.yaml");

    private static YamlMappingNode Resources()
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(TemplatePath);
        yaml.Load(reader); // CloudFormation's short tags (!Ref, !Sub, !GetAtt) load as tagged scalars/sequences.
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        return (YamlMappingNode)root["Resources"];
    }

    private static IEnumerable<(string Name, YamlMappingNode Properties, YamlMappingNode Resource)> OfType(string type) =>
        Resources().Children
            .Select(kv => (Name: ((YamlScalarNode)kv.Key).Value!, Resource: (YamlMappingNode)kv.Value))
            .Where(r => ((YamlScalarNode)r.Resource["Type"]).Value == type)
            .Select(r => (r.Name, (YamlMappingNode)r.Resource["Properties"], r.Resource));

    [Fact]
    public void EveryServiceHasAFunctionBuiltByTheMakefile()
    {
        var functions = OfType("AWS::Serverless::Function").Select(f => f.Name).ToList();
        var makefile = File.ReadAllText(Path.Combine(RepoPaths.Root, "Makefile"));
        foreach (var service in new[] { "Notifications", "Settlement", "PaymentsApi", "Timeouts" })
        {
            Assert.Contains($"{service}Function", functions);
            Assert.Contains($"build-{service}Function:", makefile);
            Assert.True(File.Exists(Path.Combine(RepoPaths.Root, "services", $"EcpayEvents.{service}", $"EcpayEvents.{service}.csproj")));
        }
    }

    [Fact]
    public void SettlementReportsBatchItemFailuresAndTheQueueHasADeadLetterQueue()
    {
        var settlement = OfType("AWS::Serverless::Function").Single(f => f.Name == "SettlementFunction").Properties;
        var sqsEvent = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)settlement["Events"])["PaymentResults"])["Properties"];
        Assert.Contains("ReportBatchItemFailures", ((YamlSequenceNode)sqsEvent["FunctionResponseTypes"]).Children.Select(c => ((YamlScalarNode)c).Value));

        var queue = OfType("AWS::SQS::Queue").Single(q => q.Name == "PaymentResultsQueue").Properties;
        var redrive = (YamlMappingNode)queue["RedrivePolicy"];
        Assert.Equal("PaymentResultsDeadLetterQueue.Arn", ((YamlScalarNode)redrive["deadLetterTargetArn"]).Value);
        Assert.True(int.Parse(((YamlScalarNode)queue["VisibilityTimeout"]).Value!) >= 6 * 15, "visibility timeout must cover the consumer's timeout");
    }

    [Fact]
    public void TheStateMachineDefinitionExistsAndEverySubstitutionItUsesIsProvided()
    {
        var machine = OfType("AWS::Serverless::StateMachine").Single().Properties;
        var definition = Path.Combine(RepoPaths.Root, ((YamlScalarNode)machine["DefinitionUri"]).Value!);
        Assert.True(File.Exists(definition), definition);
        var provided = ((YamlMappingNode)machine["DefinitionSubstitutions"]).Children.Keys.Select(k => ((YamlScalarNode)k).Value).ToHashSet();
        var used = Placeholder().Matches(File.ReadAllText(definition)).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.NotEmpty(used);
        Assert.Subset(provided!, used);
    }

    [Fact]
    public void NoSecretValueIsWrittenInTheTemplate()
    {
        var text = File.ReadAllText(TemplatePath);
        // The public stage HashKey/HashIV must not appear either: secrets come from SSM by name.
        Assert.DoesNotContain("pwFHCqoQZGmho4w6", text);
        Assert.DoesNotContain("EkRm7iFT261dpevs", text);
        Assert.DoesNotMatch(PasswordLiteral(), text);
    }

    [Theory]
    [InlineData("SettlementFunction")]
    [InlineData("TimeoutsFunction")]
    public void NonHttpFunctionsTurnA5xxIntoAFailedInvocation(string function)
    {
        // Lambda Web Adapter otherwise reports any /events answer as success: a failed batch would
        // be deleted and a failed Reconcile would skip the state machine's retries.
        var properties = OfType("AWS::Serverless::Function").Single(f => f.Name == function).Properties;
        var variables = (YamlMappingNode)((YamlMappingNode)properties["Environment"])["Variables"];
        Assert.Equal("500-599", ((YamlScalarNode)variables["AWS_LWA_ERROR_STATUS_CODES"]).Value);
    }

    [GeneratedRegex(@"\$\{(\w+)\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"(?i)password\s*=\s*[^;\s]+")]
    private static partial Regex PasswordLiteral();
}
