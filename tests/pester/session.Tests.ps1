# The one-shot task that starts a program on a user's desktop or as SYSTEM (_session), on a fake PC.
#
# These functions run inside reset-certificate, reinstall-connector and restart-web-connector; here each is taken as
# rendered from the first script in out/ that carries it (parsed, not copied), so each Task
# Scheduler result can be played back without the rest of those scripts.

BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Helpers.ps1')
    . (Join-Path -Path $PSScriptRoot -ChildPath 'WebConnectorFakes.ps1')
    Set-FakeMachineMock
    Set-WebConnectorFakeMock

    $wanted = @('Invoke-QbdOneShotTask', 'Start-QbdInUserSession', 'Get-QbdTaskRun', 'Get-QbdTaskResultMeaning', 'Test-QbdProgramRan', 'ConvertTo-QbdTaskResult',
        'Wait-QbdCondition', 'Get-QbdRemainingSeconds', 'Write-QbdBudgetNote', 'Set-QbdData', 'Add-QbdMessage',
        'Get-QbdOwnedProcess', 'Get-QbdProcessOwner', 'Get-QbdProperty', 'Get-QbdProcessElevation', 'Test-QbdProcessTokenReader')
    $script:SessionSource = @{}
    foreach ($candidate in @(Get-ChildItem -LiteralPath (Join-Path -Path $PSScriptRoot -ChildPath 'out') -Filter '*.ps1' | Sort-Object -Property Name)) {
        $tokens = $null
        $parseErrors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($candidate.FullName, [ref]$tokens, [ref]$parseErrors)
        foreach ($function in @($ast.EndBlock.Statements | Where-Object { $_ -is [System.Management.Automation.Language.FunctionDefinitionAst] })) {
            if ($wanted -notcontains $function.Name -or $script:SessionSource.ContainsKey($function.Name)) { continue }
            # The script's own text, defined here: function names and bodies only.
            . ([scriptblock]::Create($function.Extent.Text))
            $script:SessionSource[$function.Name] = $candidate.Name
        }
    }
    $missing = @($wanted | Where-Object { -not $script:SessionSource.ContainsKey($_) })
    if ($missing.Count -gt 0) { throw ('No script in out/ carries {0}: run python tests/pester/render.py.' -f ($missing -join ', ')) }
}

Describe 'one-shot tasks (Invoke-QbdOneShotTask)' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        # What the script sets up before its functions run.
        $TimeBudgetSeconds = 300
        $script:QbdDeadline = (Get-Date).AddSeconds($TimeBudgetSeconds)
        $script:QbdResult = [ordered]@{ messages = (New-Object -TypeName System.Collections.ArrayList); data = [ordered]@{} }
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'registers the task in the root folder for the user, starts it there and removes it' {
        Set-StrictMode -Version 3.0
        $machine.OneShotOutcome = 'Running'

        $outcome = Start-QbdInUserSession -UserSid $alice.Sid -Execute 'C:\Setup\connector.exe' -Argument '/quiet'

        $outcome.started | Should -BeTrue
        $outcome.task_result | Should -Be 267009
        $registered = @($machine.Registered)
        $registered | Should -HaveCount 1
        $registered[0].TaskName | Should -BeLike 'qbd-fix-*'
        $registered[0].TaskPath | Should -Be '\'
        $registered[0].Execute | Should -Be 'C:\Setup\connector.exe'
        $registered[0].Argument | Should -Be '/quiet'
        $registered[0].UserId | Should -Be $alice.Sid
        $registered[0].LogonType | Should -Be 'Interactive'
        Should -Invoke -CommandName Start-ScheduledTask -Times 1 -Exactly -ParameterFilter {
            [string]$PesterBoundParameters['TaskName'] -eq $registered[0].TaskName -and [string]$PesterBoundParameters['TaskPath'] -eq '\'
        }
        Should -Invoke -CommandName Unregister-ScheduledTask -Times 1 -Exactly
        @($machine.Tasks | Where-Object { $_.TaskName -like 'qbd-fix-*' }) | Should -HaveCount 0
    }

    It 'counts <Outcome> as started = <Started>, with its meaning' -ForEach @(
        @{ Outcome = 'Running'; Started = $true; Code = 267009; Meaning = 'running (0x41301)' },
        @{ Outcome = 'Success'; Started = $true; Code = 0; Meaning = 'completed successfully' },
        @{ Outcome = 'NeverRan'; Started = $false; Code = 267011; Meaning = 'has not run yet (0x41303)' },
        @{ Outcome = 'NeedsElevation'; Started = $false; Code = 2147943140; Meaning = 'the program needs elevation and a task cannot show the UAC prompt (0x800702E4)' },
        @{ Outcome = 'Refused'; Started = $false; Code = 2147946720; Meaning = 'the operator or administrator refused the request, often because the user is not logged on (0x800710E0)' },
        @{ Outcome = 'FileNotFound'; Started = $false; Code = 2147942402; Meaning = 'file not found (0x80070002)' }
    ) {
        Set-StrictMode -Version 3.0
        $machine.OneShotOutcome = $Outcome

        $outcome = Start-QbdInUserSession -UserSid $alice.Sid -Execute 'C:\Setup\connector.exe'

        $outcome.started | Should -Be $Started
        $outcome.task_result | Should -Be $Code
        $outcome.meaning | Should -Be $Meaning
        @($machine.Tasks | Where-Object { $_.TaskName -like 'qbd-fix-*' }) | Should -HaveCount 0
    }

    It 'reports a task for a user who is not signed in as refused, not started' {
        Set-StrictMode -Version 3.0
        $bob = Add-FakeUser -Machine $machine -UserName 'bob'
        $machine.OneShotOutcome = 'Running'

        $outcome = Start-QbdInUserSession -UserSid $bob.Sid -Execute 'notepad.exe'

        $outcome.started | Should -BeFalse
        $outcome.task_result | Should -Be 2147946720
        $outcome.meaning | Should -BeLike '*0x800710E0*'
    }
}

Describe 'processes with their owners and elevation (Get-QbdOwnedProcess, Get-QbdProcessElevation)' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Initialize-WebConnectorMachine -Machine $machine
        $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'lists one object per process with its owner, none for no match, and an empty owner for one that ended' {
        Set-StrictMode -Version 3.0
        $first = Add-WebConnectorProcess -Machine $machine -User 'alice'
        $gone = Add-WebConnectorProcess -Machine $machine -User 'alice'
        $null = $machine.EndAfterListing.Add([int]$gone.ProcessId)

        $found = @(Get-QbdOwnedProcess -Filter "Name = 'QBWebConnector.exe'")
        $none = @(Get-QbdOwnedProcess -Filter "Name = 'QBW32.exe'")

        $found | Should -HaveCount 2
        $found[0].process_id | Should -Be $first.ProcessId
        $found[0].name | Should -Be 'QBWebConnector.exe'
        $found[0].account | Should -Be 'PC\alice'
        $found[0].sid | Should -Be $alice.Sid
        $found[0].session_id | Should -Be 1
        $found[1].sid | Should -Be ''
        $found[1].account | Should -Be ''
        $none | Should -HaveCount 0
    }

    It 'tells elevated, not elevated and unreadable apart' {
        Set-StrictMode -Version 3.0
        $elevated = Add-WebConnectorProcess -Machine $machine -User 'alice' -Elevated
        $plain = Add-WebConnectorProcess -Machine $machine -User 'alice'
        $denied = Add-WebConnectorProcess -Machine $machine -User 'alice'
        Set-FakeProcessElevation -ProcessId $denied.ProcessId -Elevated $null

        Test-QbdProcessTokenReader | Should -BeTrue
        Get-QbdProcessElevation -ProcessId $elevated.ProcessId | Should -BeTrue
        Get-QbdProcessElevation -ProcessId $plain.ProcessId | Should -BeFalse
        Get-QbdProcessElevation -ProcessId $denied.ProcessId | Should -BeNullOrEmpty
    }
}
