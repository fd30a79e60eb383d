using System.Reflection;

namespace MobileNeXt.Core.Tests;

/// <summary>Which failures are bad input (one sentence) and which are bugs (a stack trace), for the command and each MPI rank.</summary>
public class InputErrorsTests
{
    [Fact]
    public void Should_find_bad_input_through_the_wrappers_reflection_and_tasks_add()
    {
        var input = new FileNotFoundException("no such file");
        InputErrors.Find(new TargetInvocationException(new AggregateException(input))).Should().BeSameAs(input);
        InputErrors.Find(new ArgumentOutOfRangeException("epochs")).Should().BeOfType<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Should_leave_a_bug_a_bug_even_when_it_wraps_bad_input()
    {
        InputErrors.Find(new InvalidOperationException("a bug")).Should().BeNull();
        InputErrors.Find(new InvalidOperationException("a bug", new ArgumentException("inner"))).Should().BeNull();
        InputErrors.Find(new AggregateException(new NullReferenceException())).Should().BeNull();
    }
}
