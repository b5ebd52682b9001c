# restart-tasks on a fake PC: the red tray icon fix (end the tray app, run both tasks in order).

BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Helpers.ps1')
    . (Join-Path -Path $PSScriptRoot -ChildPath 'WebConnectorFakes.ps1')
    $script:Path = Join-Path -Path $PSScriptRoot -ChildPath 'out/restart-tasks.ps1'
    $script:QuotedPath = Join-Path -Path $PSScriptRoot -ChildPath 'out/restart-tasks-quoted.ps1'
    Set-FakeMachineMock
}

Describe 'restart-tasks' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson '{"companyId":"6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"}'
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'ends the tray app, runs the service task then the UI task, and reports changed' {
        $pair = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books'
        $tray = Add-FakeTrayProcess -Machine $machine -ClientName 'Acme Books' -User 'alice'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        $run.ExitCode | Should -Be 0
        $run.Result.remediation | Should -Be 'restart-tasks'
        $run.Result.data.what_if | Should -BeFalse
        $run.Result.data.client_name | Should -BeExactly 'Acme Books'
        $users = @($run.Result.data.interactive_users)
        $users | Should -HaveCount 1
        $users[0].account | Should -Be 'PC\alice'
        $users[0].sid | Should -Be $alice.Sid
        $users[0].is_admin | Should -BeFalse
        (Get-ResultCheck -Result $run.Result -Name 'tray-user-logged-on')[0].passed | Should -BeTrue
        (Get-ResultCheck -Result $run.Result -Name 'tasks-found')[0].passed | Should -BeTrue
        (Get-ResultCheck -Result $run.Result -Name 'service-task-running')[0].passed | Should -BeTrue
        (Get-ResultCheck -Result $run.Result -Name 'tray-running')[0].passed | Should -BeTrue
        (Get-ResultCheck -Result $run.Result -Name 'connector-present')[0].passed | Should -BeTrue
        @($run.Result.actions) | Should -HaveCount 3
        @($run.Result.actions | Where-Object { -not $_.performed }) | Should -HaveCount 0
        (Get-ResultAction -Result $run.Result -Text ('process {0}' -f $tray.ProcessId)) | Should -HaveCount 1
        (Get-ResultMessage -Result $run.Result -Text 'is running again') | Should -HaveCount 1

        Should -Invoke -CommandName Stop-Process -Times 1 -Exactly -ParameterFilter { @($PesterBoundParameters['Id']) -contains [int]$tray.ProcessId }
        Should -Invoke -CommandName Start-ScheduledTask -Times 2 -Exactly
        (@($machine.Started) -join '|') | Should -Be 'QuickbooksDesktop_Acme Books|QuickbooksDesktopUi_Acme Books'
        $pair.Service.State | Should -Be 'Running'
    }

    It 'reports each step as an information record tagged qbd-step, in order, with no user value in it' {
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books'
        $null = Add-FakeTrayProcess -Machine $machine -ClientName 'Acme Books' -User 'alice'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        $run.Steps | Should -Be @(
            'Reading the connector tasks',
            'Ending the tray app',
            'Running the connector task (waiting up to 5 s)',
            'Running the tray app task (waiting up to 5 s)',
            'Checking that the tray app is back'
        )
        ($run.Steps -join '|') | Should -Not -BeLike '*Acme*'
        # powershell.exe -File prints them before the result, which stays the last line.
        $run.Stdout[-1] | Should -BeExactly $run.Json
    }

    It 'reports only the steps it reached when it stops early' {
        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'failed' -Because $run.Json
        $run.Steps | Should -Be @('Reading the connector tasks')
    }

    It 'changes nothing under -WhatIf and lists what it would do' {
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books'
        $null = Add-FakeTrayProcess -Machine $machine -ClientName 'Acme Books' -User 'alice'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5; WhatIf = $true }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $run.ExitCode | Should -Be 0
        $run.Result.data.what_if | Should -BeTrue
        @($run.Result.actions) | Should -HaveCount 3
        @($run.Result.actions | Where-Object { $_.performed }) | Should -HaveCount 0
        (Get-ResultMessage -Result $run.Result -Text 'WhatIf: nothing was changed') | Should -HaveCount 1
        Should -Invoke -CommandName Start-ScheduledTask -Times 0 -Exactly
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
        @($machine.Started) | Should -HaveCount 0
    }

    It 'fails without -ClientName when two clients have tasks, naming both' {
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books'
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Beta Ltd' -TaskPath '\Codat\'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = ''; TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'failed' -Because $run.Json
        $run.ExitCode | Should -Be 1
        $message = @(Get-ResultMessage -Result $run.Result -Text 'Several connectors are installed')
        $message | Should -HaveCount 1
        $message[0] | Should -BeLike "*'Acme Books'*"
        $message[0] | Should -BeLike "*'Beta Ltd'*"
        @($run.Result.data.task_pairs) | Should -HaveCount 2
        Should -Invoke -CommandName Start-ScheduledTask -Times 0 -Exactly
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
    }

    It 'matches a client name with an apostrophe exactly, in any task folder' {
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'OBrien Books'
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'O''''Brien Books'
        $wanted = Add-FakeTaskPair -Machine $machine -ClientName 'O''Brien Books' -TaskPath '\Codat\'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'O''Brien Books'; TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        $run.Result.data.client_name | Should -BeExactly 'O''Brien Books'
        (@($machine.Started) -join '|') | Should -Be 'QuickbooksDesktop_O''Brien Books|QuickbooksDesktopUi_O''Brien Books'
        Should -Invoke -CommandName Start-ScheduledTask -Times 1 -Exactly -ParameterFilter {
            @($PesterBoundParameters['InputObject'])[0].TaskName -eq 'QuickbooksDesktop_O''Brien Books'
        }
        $wanted.Ui.State | Should -Be 'Running'
    }

    It 'runs the service task but asks for a person when nobody is logged on' {
        $machine.Processes.Clear()
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 2 }

        $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
        $run.ExitCode | Should -Be 3
        @($run.Result.data.interactive_users) | Should -HaveCount 0
        (Get-ResultCheck -Result $run.Result -Name 'tray-user-logged-on')[0].passed | Should -BeFalse
        (Get-ResultMessage -Result $run.Result -Text 'runs as a user who is not signed in') | Should -HaveCount 1
        (Get-ResultCheck -Result $run.Result -Name 'tray-running')[0].passed | Should -BeFalse
        (@($machine.Started) -join '|') | Should -Be 'QuickbooksDesktop_Acme Books'
        Should -Invoke -CommandName Start-ScheduledTask -Times 1 -Exactly
    }

    It 'fails when the client has no tasks but others do' {
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Beta Ltd'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'failed' -Because $run.Json
        $run.ExitCode | Should -Be 1
        (Get-ResultMessage -Result $run.Result -Text 'Tasks exist for: ''Beta Ltd''') | Should -HaveCount 1
        Should -Invoke -CommandName Start-ScheduledTask -Times 0 -Exactly
    }
}

Describe 'restart-tasks on a PC with only the Web Connector' {
    # No legacy tasks to run: the Web Connector is brought back as restart-web-connector does.
    BeforeAll {
        Set-WebConnectorFakeMock
    }

    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Initialize-WebConnectorMachine -Machine $machine
        Add-FakeSystemProfile -Machine $machine
        $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn -Administrator
        $null = Add-WebConnectorApp -Machine $machine -User $alice
        $null = Add-FakeWebConnector -Machine $machine
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'starts the Web Connector in the user''s session at their QuickBooks'' elevation, and says so' {
        $null = Add-QuickBooksProcess -Machine $machine -User 'alice' -Elevated

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = ''; TaskTimeoutSeconds = 5 }

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'changed' -Because $run.Json
        $run.ExitCode | Should -Be 0
        (@($run.Result.data.generations | ForEach-Object { $_.generation }) -join '|') | Should -Be 'web-connector'
        (Get-ResultCheck -Result $run.Result -Name 'tasks-found')[0].passed | Should -BeFalse
        (Get-ResultMessage -Result $run.Result -Text 'No legacy connector tasks: this PC runs the current connector (Intuit Web Connector)') | Should -HaveCount 1
        $started = @($machine['WebConnectorStarts'])
        $started | Should -HaveCount 1
        $started[0].UserId | Should -Be $alice.Sid
        $started[0].RunLevel | Should -Be 'Highest'
        @($machine.Processes | Where-Object { $_.Name -eq 'QBWebConnector.exe' -and $_.OwnerSid -eq $alice.Sid }) | Should -HaveCount 1
        (Get-ResultCheck -Result $run.Result -Name 'web-connector-running')[0].passed | Should -BeTrue
        $user = @($run.Result.data.web_connector.users)[0]
        $user.before.running | Should -BeFalse
        $user.after.running | Should -BeTrue
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
    }

    It 'leaves a running Web Connector alone and names restart-web-connector -ForceClose' {
        $web = Add-WebConnectorProcess -Machine $machine -User 'alice'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        @($run.Result.actions) | Should -HaveCount 0
        (Get-ResultMessage -Result $run.Result -Text 'restart-web-connector --force-close') | Should -HaveCount 1
        @($machine.Processes | Where-Object { $_.ProcessId -eq $web.ProcessId }) | Should -HaveCount 1
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
        Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
    }

    It 'asks for a person with nobody signed in, naming the start-up entry' {
        $machine.Processes.Clear()
        $program = Join-Path -Path $machine.ProgramFiles86 -ChildPath 'Common Files\Intuit\QuickBooks\QBWebConnector\QBWebConnector.exe'
        $null = Add-FakeRegistryKey -Machine $machine -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Run' -Values @{ 'QBWebConnector' = $program }

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = ''; TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
        $run.ExitCode | Should -Be 3
        @($run.Result.data.web_connector.startup_kinds) | Should -Be @('run_key')
        (Get-ResultMessage -Result $run.Result -Text 'it starts when the user signs in, from its start-up entries (Run key HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Run QBWebConnector)') | Should -HaveCount 1
        Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
    }

    It 'keeps the legacy fix where the legacy tasks exist beside the Web Connector' {
        $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson '{"companyId":"6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"}'
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        (@($machine.Started) -join '|') | Should -Be 'QuickbooksDesktop_Acme Books|QuickbooksDesktopUi_Acme Books'
        $run.Result.data.PSObject.Properties['web_connector'] | Should -BeNullOrEmpty
        @($machine['WebConnectorStarts']) | Should -HaveCount 0
    }

    It 'still asks for a person on a PC with only the per-user connector' {
        Remove-Item -LiteralPath (Join-Path -Path $machine.ProgramFiles86 -ChildPath 'Common Files') -Recurse -Force
        $null = Add-FakePerUserConnector -Machine $machine -User $alice

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = ''; TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
        (Get-ResultMessage -Result $run.Result -Text 'older per-user connector') | Should -HaveCount 1
        $run.Result.data.PSObject.Properties['web_connector'] | Should -BeNullOrEmpty
    }
}

Describe 'restart-tasks with one tray process, or none' {
    # Get-Process gives a bare Process object for one match and nothing for none; the script must
    # count both right under Set-StrictMode -Version 3.0 (a bare object or $null has no .Count in
    # Windows PowerShell 5.1).
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        $null = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson '{"companyId":"6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"}'
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books'
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'ends the one tray process (the red-icon case), starts both tasks and reports changed' {
        $tray = Add-FakeTrayProcess -Machine $machine -ClientName 'Acme Books' -User 'alice'
        @(Get-Process -Name 'QuickbooksDesktopUI') | Should -HaveCount 1

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'changed' -Because $run.Json
        $run.ExitCode | Should -Be 0
        Should -Invoke -CommandName Stop-Process -Times 1 -Exactly -ParameterFilter { @($PesterBoundParameters['Id']) -contains [int]$tray.ProcessId }
        @($machine.Processes | Where-Object { $_.ProcessId -eq $tray.ProcessId }) | Should -HaveCount 0
        (@($machine.Started) -join '|') | Should -Be 'QuickbooksDesktop_Acme Books|QuickbooksDesktopUi_Acme Books'
        (Get-ResultCheck -Result $run.Result -Name 'tray-running')[0].passed | Should -BeTrue
    }

    It 'starts both tasks when no tray process is running and reports changed' {
        Get-Process -Name 'QuickbooksDesktopUI' | Should -BeNullOrEmpty

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'changed' -Because $run.Json
        $run.ExitCode | Should -Be 0
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
        (@($machine.Started) -join '|') | Should -Be 'QuickbooksDesktop_Acme Books|QuickbooksDesktopUi_Acme Books'
        (Get-ResultCheck -Result $run.Result -Name 'tray-running')[0].passed | Should -BeTrue
        @(Get-Process -Name 'QuickbooksDesktopUI') | Should -HaveCount 1
    }
}

Describe 'restart-tasks when a task does not start' {
    # Task Scheduler accepts the start and records why the program did not run in LastTaskResult.
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        $null = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson '{"companyId":"6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"}'
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'reports the service task not started, with the meaning of <Outcome> (<Code>)' -ForEach @(
        @{ Outcome = 'NeedsElevation'; Code = 2147943140; Meaning = 'needs elevation and a task cannot show the UAC prompt (0x800702E4)' },
        @{ Outcome = 'Refused'; Code = 2147946720; Meaning = 'refused the request, often because the user is not logged on (0x800710E0)' },
        @{ Outcome = 'FileNotFound'; Code = 2147942402; Meaning = 'file not found (0x80070002)' }
    ) {
        # Task Scheduler accepts the start; the task ends at once with this result. Only 0 and
        # 0x41301 (or State Running) mean it ran.
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books' -ServiceStartOutcome $Outcome
        $null = Add-FakeTrayProcess -Machine $machine -ClientName 'Acme Books' -User 'alice'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
        $run.ExitCode | Should -Be 3
        $check = (Get-ResultCheck -Result $run.Result -Name 'service-task-running')[0]
        $check.passed | Should -BeFalse -Because $run.Json
        (ConvertFrom-Json -InputObject $check.evidence).last_result | Should -Be $Code
        (ConvertFrom-Json -InputObject $check.evidence).state | Should -Be 'Ready'
        $message = @(Get-ResultMessage -Result $run.Result -Text 'QuickbooksDesktop_Acme Books did not start within 5 s')
        $message | Should -HaveCount 1
        $message[0] | Should -BeLike ('*(last result: *{0})*' -f $Meaning)
        (Get-ResultMessage -Result $run.Result -Text 'is running again') | Should -HaveCount 0
    }

    It 'asks for a person when the tray task is refused (0x800710E0) and the tray stays away' {
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books' -UiStartOutcome 'Refused'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
        $run.ExitCode | Should -Be 3
        (Get-ResultCheck -Result $run.Result -Name 'tray-running')[0].passed | Should -BeFalse
        (Get-ResultMessage -Result $run.Result -Text 'The tray app is still not running') | Should -HaveCount 1
        $run.Result.data.after.ui_task.last_result | Should -Be 2147946720
        @(Get-Process -Name 'QuickbooksDesktopUI') | Should -HaveCount 0
    }

    It 'leaves a service task that is already Running (0x41301) as it is' {
        $pair = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books'
        $pair.Service.State = 'Running'
        $pair.Service.LastTaskResult = Get-FakeTaskResult -Name 'Running'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'changed' -Because $run.Json
        $run.Result.data.before.service_task.state | Should -Be 'Running'
        $run.Result.data.before.service_task.last_result | Should -Be 267009
        (Get-ResultMessage -Result $run.Result -Text 'was already running; left as it is') | Should -HaveCount 1
        (@($machine.Started) -join '|') | Should -Be 'QuickbooksDesktopUi_Acme Books'
    }
}

Describe 'restart-tasks rendered with a quoted, non-ASCII client name' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        $null = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        # Built from character codes so this file stays ASCII: Cafe with e-acute, a right single
        # quotation mark (PowerShell reads it as a quote) and an ASCII apostrophe.
        $quoted = 'Caf' + [char]0x00E9 + ' O' + [char]0x2019 + 'Brien''s'
        $null = Add-FakeTaskPair -Machine $machine -ClientName $quoted
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Cafe O''Brien''s'
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'reads the baked-in default back exactly' {
        $run = Invoke-RenderedScript -ScriptPath $script:QuotedPath -ScriptParameters @{ TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        $run.Result.data.client_name | Should -BeExactly $quoted
        (@($machine.Started) -join '|') | Should -BeExactly ('QuickbooksDesktop_{0}|QuickbooksDesktopUi_{0}' -f $quoted)
    }
}

Describe 'restart-tasks on a PC with several clients or several users' {
    # Every client's tray app is QuickbooksDesktopUI.exe: only the chosen client's, started from
    # its folder, by the tray task's own user, may be ended.
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson '{"companyId":"6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"}'
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'ends only the chosen client''s tray app; the other client''s stays' {
        $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Beta Ltd' -LinkJson '{"companyId":"7a2d3b4c-5e6f-4a70-9b8c-1d2e3f4a5b6c"}'
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books'
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Beta Ltd'
        $acmeTray = Add-FakeTrayProcess -Machine $machine -ClientName 'Acme Books' -User 'alice'
        $betaTray = Add-FakeTrayProcess -Machine $machine -ClientName 'Beta Ltd' -User 'alice'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        Should -Invoke -CommandName Stop-Process -Times 1 -Exactly
        Should -Invoke -CommandName Stop-Process -Times 1 -Exactly -ParameterFilter { @($PesterBoundParameters['Id']) -contains [int]$acmeTray.ProcessId }
        @($machine.Processes | Where-Object { $_.ProcessId -eq $betaTray.ProcessId }) | Should -HaveCount 1
        (@($machine.Started) -join '|') | Should -Be 'QuickbooksDesktop_Acme Books|QuickbooksDesktopUi_Acme Books'
        @($run.Result.data.before.tray_processes) | Should -Be @([int]$acmeTray.ProcessId)
        $run.Result.data.client_folder | Should -Be (Get-FakeLegacyFolder -Machine $machine -ClientName 'Acme Books')
    }

    It 'finds the client''s folder from the tray task''s program when it is not the legacy folder' {
        $elsewhere = Join-Path -Path $machine.ProgramFiles86 -ChildPath 'Codat\Acme'
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books' -Folder $elsewhere
        $legacyTray = Add-FakeTrayProcess -Machine $machine -ClientName 'Acme Books' -User 'alice'
        $tray = Add-FakeTrayProcess -Machine $machine -ClientName 'Acme Books' -User 'alice' -Folder $elsewhere

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        $run.Result.data.client_folder | Should -Be $elsewhere
        Should -Invoke -CommandName Stop-Process -Times 1 -Exactly
        Should -Invoke -CommandName Stop-Process -Times 1 -Exactly -ParameterFilter { @($PesterBoundParameters['Id']) -contains [int]$tray.ProcessId }
        @($machine.Processes | Where-Object { $_.ProcessId -eq $legacyTray.ProcessId }) | Should -HaveCount 1
    }

    It 'ends only the tray task user''s tray app when two users run it' {
        $bob = Add-FakeUser -Machine $machine -UserName 'bob' -LoggedOn
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books' -UserSid $alice.Sid
        $aliceTray = Add-FakeTrayProcess -Machine $machine -ClientName 'Acme Books' -User 'alice'
        $bobTray = Add-FakeTrayProcess -Machine $machine -ClientName 'Acme Books' -User 'bob'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        @($run.Result.data.interactive_users | ForEach-Object { $_.sid }) | Should -Be @($alice.Sid, $bob.Sid)
        Should -Invoke -CommandName Stop-Process -Times 1 -Exactly
        Should -Invoke -CommandName Stop-Process -Times 1 -Exactly -ParameterFilter { @($PesterBoundParameters['Id']) -contains [int]$aliceTray.ProcessId }
        $bobStill = @($machine.Processes | Where-Object { $_.ProcessId -eq $bobTray.ProcessId })
        $bobStill | Should -HaveCount 1
        # The tray app came back for alice, the task's user, and bob's was left alone.
        @($machine.Processes | Where-Object { $_.Name -eq 'QuickbooksDesktopUI.exe' -and $_.OwnerSid -eq $alice.Sid }) | Should -HaveCount 1
    }

    It 'ends nothing and asks for a person when the tray task''s user is not signed in' {
        $bob = Add-FakeUser -Machine $machine -UserName 'bob' -LoggedOn
        $carol = Add-FakeUser -Machine $machine -UserName 'carol'
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books' -UserSid $carol.Sid
        $bobTray = Add-FakeTrayProcess -Machine $machine -ClientName 'Acme Books' -User 'bob'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
        $run.ExitCode | Should -Be 3
        $check = (Get-ResultCheck -Result $run.Result -Name 'tray-user-logged-on')[0]
        $check.passed | Should -BeFalse
        $check.evidence | Should -BeLike ('*{0}*' -f $carol.Sid)
        (Get-ResultMessage -Result $run.Result -Text 'runs as a user who is not signed in') | Should -HaveCount 1
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
        @($machine.Processes | Where-Object { $_.ProcessId -eq $bobTray.ProcessId }) | Should -HaveCount 1
        @(Get-ResultAction -Result $run.Result -Text 'End process') | Should -HaveCount 0
        (@($machine.Started) -join '|') | Should -Be 'QuickbooksDesktop_Acme Books'
    }

    It 'treats a group principal as any signed-in user' {
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books' -GroupId 'S-1-5-32-545' -UserSid ''
        $tray = Add-FakeTrayProcess -Machine $machine -ClientName 'Acme Books' -User 'alice'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        (Get-ResultCheck -Result $run.Result -Name 'tray-user-logged-on')[0].passed | Should -BeTrue
        Should -Invoke -CommandName Stop-Process -Times 1 -Exactly -ParameterFilter { @($PesterBoundParameters['Id']) -contains [int]$tray.ProcessId }
        (Get-ResultCheck -Result $run.Result -Name 'tray-running')[0].passed | Should -BeTrue
    }

    It 'fails on a duplicate task pair in another task folder and changes nothing' {
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books'
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books' -TaskPath '\Codat\'
        $tray = Add-FakeTrayProcess -Machine $machine -ClientName 'Acme Books' -User 'alice'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'failed' -Because $run.Json
        $run.ExitCode | Should -Be 1
        $check = (Get-ResultCheck -Result $run.Result -Name 'tasks-unique')[0]
        $check.passed | Should -BeFalse
        $check.evidence | Should -BeLike '*\Codat\QuickbooksDesktop_Acme Books*'
        (Get-ResultMessage -Result $run.Result -Text 'more than one connector task of a kind') | Should -HaveCount 1
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
        Should -Invoke -CommandName Start-ScheduledTask -Times 0 -Exactly
        @($machine.Processes | Where-Object { $_.ProcessId -eq $tray.ProcessId }) | Should -HaveCount 1
    }

    It 'fails without changing anything when the client''s folder cannot be found' {
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Gamma Co'
        foreach ($task in @($machine.Tasks)) { $task.Actions = [FakeWindows.TaskAction[]]@() }
        $tray = Add-FakeTrayProcess -Machine $machine -ClientName 'Acme Books' -User 'alice'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Gamma Co'; TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'failed' -Because $run.Json
        (Get-ResultCheck -Result $run.Result -Name 'tray-identified')[0].passed | Should -BeFalse
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
        Should -Invoke -CommandName Start-ScheduledTask -Times 0 -Exactly
        @($machine.Processes | Where-Object { $_.ProcessId -eq $tray.ProcessId }) | Should -HaveCount 1
    }
}

Describe 'restart-tasks: is the service task up?' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        $null = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson '{"companyId":"6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"}'
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'asks for a person when the service task never starts, even though the tray app is back' {
        # 0x41303 stays: the task was accepted but never ran.
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books' -ServiceStartOutcome 'NeverRan'
        $null = Add-FakeTrayProcess -Machine $machine -ClientName 'Acme Books' -User 'alice'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
        $run.ExitCode | Should -Be 3
        (Get-ResultCheck -Result $run.Result -Name 'service-task-running')[0].passed | Should -BeFalse
        (Get-ResultCheck -Result $run.Result -Name 'tray-running')[0].passed | Should -BeTrue
        (Get-ResultMessage -Result $run.Result -Text 'The tray app is back but \QuickbooksDesktop_Acme Books is not running') | Should -HaveCount 1
        (Get-ResultMessage -Result $run.Result -Text 'is running again') | Should -HaveCount 0
    }

    It 'says the service task has not run since it was started, with its earlier result in words' {
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books' -ServiceStartOutcome 'NeverRan'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        (Get-ResultCheck -Result $run.Result -Name 'service-task-running')[0].passed | Should -BeFalse -Because $run.Json
        @(Get-ResultMessage -Result $run.Result -Text 'did not start within 5 s') | Should -Be @('\QuickbooksDesktop_Acme Books did not start within 5 s (it has not run since; its last result, from an earlier run: completed successfully).')
    }

    It 'accepts a service task that ran since the start and ended with 0' {
        # A launcher task ends at once with 0, having started what it runs.
        $pair = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books' -ServiceStartOutcome 'Success'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        $pair.Service.State | Should -Be 'Ready'
        (Get-ResultCheck -Result $run.Result -Name 'service-task-running')[0].passed | Should -BeTrue
        (Get-ResultMessage -Result $run.Result -Text 'is running again') | Should -HaveCount 1
    }
}

Describe 'restart-tasks -RestartIfUnhealthy' {
    # The tray app does not come back (its task is refused), so the script considers a restart.
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson '{"companyId":"6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"}'
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books' -UiStartOutcome 'Refused'
        $restartParameters = @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5; RestartIfUnhealthy = $true }
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'schedules a one-time SYSTEM restart task when only the tray task''s user is signed in' {
        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $restartParameters

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
        $restart = @($machine.Registered)
        $restart | Should -HaveCount 1
        $restart[0].TaskName | Should -BeLike 'qbd-fix-restart-*'
        $restart[0].TaskPath | Should -Be '\'
        $restart[0].Execute | Should -Be 'shutdown.exe'
        $restart[0].Argument | Should -BeLike '/r /t 0 *'
        $restart[0].UserId | Should -Be 'S-1-5-18'
        $restart[0].LogonType | Should -Be 'ServiceAccount'
        $restart[0].Trigger | Should -Not -BeNullOrEmpty
        ([datetime]$restart[0].Trigger.StartBoundary) | Should -BeGreaterThan $machine.Clock
        $restart[0].Trigger.EndBoundary | Should -Not -BeNullOrEmpty
        (Get-ResultAction -Result $run.Result -Text 'Restart the computer at')[0].performed | Should -BeTrue
        (Get-ResultMessage -Result $run.Result -Text 'The PC restarts at') | Should -HaveCount 1
        Should -Invoke -CommandName Start-ScheduledTask -Times 0 -Exactly -ParameterFilter { [string]$PesterBoundParameters['TaskName'] -like 'qbd-fix-restart-*' }
        Should -Invoke -CommandName shutdown.exe -Times 0 -Exactly
    }

    It 'does not restart while <Name> runs' -ForEach @(
        @{ Name = 'QBW32.exe' },
        @{ Name = 'QBW.exe' }
    ) {
        $null = Add-FakeProcess -Machine $machine -Name $Name -ExecutablePath ('C:\Program Files\Intuit\QuickBooks 2024\{0}' -f $Name) -User 'alice'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $restartParameters

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
        $run.ExitCode | Should -Be 3
        $check = (Get-ResultCheck -Result $run.Result -Name 'quickbooks-closed')[0]
        $check.passed | Should -BeFalse
        $check.evidence | Should -Be ('{0} running' -f $Name)
        (Get-ResultMessage -Result $run.Result -Text 'QuickBooks is open on this PC, so it was not restarted') | Should -HaveCount 1
        @($machine.Registered) | Should -HaveCount 0
        Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        Should -Invoke -CommandName shutdown.exe -Times 0 -Exactly
        @(Get-ResultAction -Result $run.Result -Text 'Restart the computer') | Should -HaveCount 0
    }

    It 'does not restart while another user is signed in' {
        $null = Add-FakeUser -Machine $machine -UserName 'bob' -LoggedOn

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $restartParameters

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
        $run.ExitCode | Should -Be 3
        (Get-ResultCheck -Result $run.Result -Name 'only-tray-user-signed-in')[0].passed | Should -BeFalse
        $message = @(Get-ResultMessage -Result $run.Result -Text 'Others are signed in to this PC')
        $message | Should -HaveCount 1
        $message[0] | Should -BeLike '*(PC\bob)*'
        @($machine.Registered) | Should -HaveCount 0
        Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        Should -Invoke -CommandName shutdown.exe -Times 0 -Exactly
    }

    It 'only lists the restart under -WhatIf' {
        $restartParameters['WhatIf'] = $true

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $restartParameters

        $run.Result.data.what_if | Should -BeTrue
        @($machine.Registered) | Should -HaveCount 0
        @($run.Result.actions | Where-Object { $_.performed }) | Should -HaveCount 0
    }
}

Describe 'restart-tasks output and parameters' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        $null = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson '{"companyId":"6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"}'
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books'
        $null = Add-FakeTrayProcess -Machine $machine -ClientName 'Acme Books' -User 'alice'
    }

    AfterEach {
        [Environment]::SetEnvironmentVariable('QBD_FIX_PARAMETERS', $null)
        Restore-FakeMachine
    }

    It 'ends with exactly one line, the JSON result, after its step lines, under -WhatIf' {
        # ShouldProcess would write 'What if: ...' lines to the host, which is stdout for
        # powershell.exe -File; a transcript records what the host was given. The step records
        # are printed there too, as 'qbd-step: ...' lines, before the result.
        $transcript = Join-Path -Path $TestDrive -ChildPath ('whatif-{0}.txt' -f [guid]::NewGuid().ToString('N'))
        $null = Start-Transcript -LiteralPath $transcript
        try {
            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; TaskTimeoutSeconds = 5; WhatIf = $true }
        } finally {
            $null = Stop-Transcript
        }

        @($run.Output) | Should -HaveCount 1
        [string]$run.Output[0] | Should -BeExactly $run.Json
        $run.Stdout[-1] | Should -BeExactly $run.Json
        @($run.Stdout | Where-Object { $_.StartsWith('{') }) | Should -HaveCount 1
        @($run.Stdout | Select-Object -SkipLast 1 | Where-Object { -not $_.StartsWith('qbd-step: ') }) | Should -HaveCount 0
        @($run.Steps).Count | Should -BeGreaterThan 1
        $hostLines = @(Get-Content -LiteralPath $transcript | Where-Object { $_ -like 'What if:*' -or $_ -like 'WARNING:*' })
        $hostLines | Should -HaveCount 0 -Because ($hostLines -join [Environment]::NewLine)
        @($run.Result.actions) | Should -HaveCount 3
        @($run.Result.actions | Where-Object { $_.performed }) | Should -HaveCount 0
    }

    It 'prints its steps and then one JSON line as the last line of stdout when run with -File' {
        # A real powershell -File run, in a process of its own, where no fake reaches: off
        # Windows it stops at the first Windows command (Get-CimInstance) and reports that in
        # its result, which is all this case needs. On Windows it would read the real PC.
        if (Test-FakeHostIsWindows) {
            Set-ItResult -Skipped -Because 'in a process of its own the script would read the real Windows PC'
            return
        }
        # This PowerShell again (not through Get-Process, which is mocked here): its program, and
        # for PowerShell run by dotnet (a .NET tool), its pwsh.dll.
        $hostProgram = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
        $hostArguments = @([Environment]::GetCommandLineArgs()[0] | Where-Object { $_.EndsWith('.dll', [System.StringComparison]::OrdinalIgnoreCase) })
        $hostArguments += @('-NoLogo', '-NoProfile', '-NonInteractive', '-File', $script:Path, '-ClientName', 'Acme Books', '-TaskTimeoutSeconds', '5', '-WhatIf')
        $lines = @(& $hostProgram $hostArguments)

        $lines.Count | Should -BeGreaterThan 1 -Because ($lines -join [Environment]::NewLine)
        $last = [string]$lines[-1]
        $last | Should -BeLike '{*}'
        (ConvertFrom-Json -InputObject $last).remediation | Should -Be 'restart-tasks'
        @($lines | Select-Object -SkipLast 1 | Where-Object { -not ([string]$_).StartsWith('qbd-step: ') }) | Should -HaveCount 0 -Because ($lines -join [Environment]::NewLine)
        [string]$lines[0] | Should -Be 'qbd-step: Reading the connector tasks'
    }

    It 'fails with the validation message when a relaunch passes a value the script refuses' {
        # What the 32-bit guard hands to the 64-bit run; the relaunch itself needs 32-bit Windows.
        [Environment]::SetEnvironmentVariable('QBD_FIX_PARAMETERS', '{"TaskTimeoutSeconds":0}')

        $run = Invoke-RenderedScript -ScriptPath $script:Path

        $run.Result.status | Should -Be 'failed' -Because $run.Json
        $run.ExitCode | Should -Be 1
        $run.Result.data.error.message | Should -BeLike '*TaskTimeoutSeconds*'
        (Get-ResultMessage -Result $run.Result -Text 'TaskTimeoutSeconds') | Should -HaveCount 1
        Should -Invoke -CommandName Start-ScheduledTask -Times 0 -Exactly
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
        [Environment]::GetEnvironmentVariable('QBD_FIX_PARAMETERS') | Should -BeNullOrEmpty
    }

    It 'applies the values a relaunch passes, and ignores names that are not its parameters' {
        $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Beta Ltd' -LinkJson '{"companyId":"7a2d3b4c-5e6f-4a70-9b8c-1d2e3f4a5b6c"}'
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Beta Ltd'
        [Environment]::SetEnvironmentVariable('QBD_FIX_PARAMETERS', '{"ClientName":"Beta Ltd","TaskTimeoutSeconds":7,"RestartIfUnhealthy":false,"Command":"calc.exe"}')

        $run = Invoke-RenderedScript -ScriptPath $script:Path

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'changed' -Because $run.Json
        $run.Result.data.client_name | Should -BeExactly 'Beta Ltd'
        (@($machine.Started) -join '|') | Should -Be 'QuickbooksDesktop_Beta Ltd|QuickbooksDesktopUi_Beta Ltd'
        [Environment]::GetEnvironmentVariable('QBD_FIX_PARAMETERS') | Should -BeNullOrEmpty
    }
}

Describe 'restart-tasks on a Web Connector PC with a user who does not use it' {
    BeforeAll {
        Set-WebConnectorFakeMock
    }

    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Initialize-WebConnectorMachine -Machine $machine
        Add-FakeSystemProfile -Machine $machine
        $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        $tech = Add-FakeUser -Machine $machine -UserName 'tech' -LoggedOn -Administrator
        $null = Add-FakeWebConnector -Machine $machine
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'starts the Web Connector only for the user with Codat''s application' {
        $null = Add-WebConnectorApp -Machine $machine -User $alice

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        @($machine['WebConnectorStarts'] | Where-Object { $_.UserId -eq $alice.Sid }) | Should -HaveCount 1
        @($machine['WebConnectorStarts'] | Where-Object { $_.UserId -eq $tech.Sid }) | Should -HaveCount 0
        $skipped = @(@($run.Result.data.web_connector.users) | Where-Object { $_.sid -eq $tech.Sid })[0]
        $skipped.outcome | Should -Be 'skipped'
        $skipped.after.running | Should -BeFalse
    }

    It 'starts nothing and asks for a person when no signed-in user uses it' {
        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ TaskTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
        @($machine['WebConnectorStarts']) | Should -HaveCount 0
        (Get-ResultMessage -Result $run.Result -Text 'Seen: PC\alice (no application is registered') | Should -HaveCount 1
    }
}
