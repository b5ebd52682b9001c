# reinstall-connector on a fake PC: every check before the first change, nothing changed when one fails.

BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Helpers.ps1')
    $script:Path = Join-Path -Path $PSScriptRoot -ChildPath 'out/reinstall-connector.ps1'
    Set-FakeMachineMock
}

Describe 'reinstall-connector' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        $companyId = '6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b'
        $secret = 'connector-secret-7Qx'
        $installer = Write-FakeProgram -Path (Join-Path -Path $alice.Profile -ChildPath 'Downloads\Acme Books-quickbooksdesktop-connector.exe')
        $backups = Join-Path -Path $machine.ProgramData -ChildPath 'qbd-fix'
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'fails on a Company ID mismatch and changes nothing' {
        $install = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"companyId":"{0}","token":"{1}"}}' -f $companyId, $secret)
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books' -State 'Running'
        $other = '0a0b0c0d-1e1f-4a2b-8c3d-4e5f6a7b8c9d'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; CompanyId = $other; Installer = $installer }

        $run.Result.status | Should -Be 'failed' -Because $run.Json
        $run.ExitCode | Should -Be 1
        $check = (Get-ResultCheck -Result $run.Result -Name 'company-id')[0]
        $check.passed | Should -BeFalse
        $check.evidence | Should -BeLike ('*{0}*{1}*' -f $companyId, $other)
        (Get-ResultMessage -Result $run.Result -Text 'Nothing was changed') | Should -HaveCount 1
        @($run.Result.actions) | Should -HaveCount 0
        $run.Json | Should -Not -BeLike ('*{0}*' -f $secret)
        Should -Invoke -CommandName Start-Process -Times 0 -Exactly
        Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        Should -Invoke -CommandName Stop-ScheduledTask -Times 0 -Exactly
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
        Test-Path -LiteralPath $backups | Should -BeFalse
        Test-Path -LiteralPath (Join-Path -Path $install -ChildPath 'link.json') -PathType Leaf | Should -BeTrue
    }

    It 'fails without -Force when link.json holds no Company ID and none is given' {
        $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"token":"{0}","region":"us"}}' -f $secret)

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; Installer = $installer }

        $run.Result.status | Should -Be 'failed' -Because $run.Json
        $run.ExitCode | Should -Be 1
        (Get-ResultCheck -Result $run.Result -Name 'company-id')[0].passed | Should -BeFalse
        (Get-ResultMessage -Result $run.Result -Text 'No Company ID found and none given') | Should -HaveCount 1
        @($run.Result.actions) | Should -HaveCount 0
        $run.Json | Should -Not -BeLike ('*{0}*' -f $secret)
        Should -Invoke -CommandName Start-Process -Times 0 -Exactly
        Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        Test-Path -LiteralPath $backups | Should -BeFalse
    }

    It 'fails when two connectors are installed and no client is named' {
        $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"companyId":"{0}"}}' -f $companyId)
        $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Beta Ltd' -LinkJson '{"companyId":"0a0b0c0d-1e1f-4a2b-8c3d-4e5f6a7b8c9d"}'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = ''; Installer = $installer }

        $run.Result.status | Should -Be 'failed' -Because $run.Json
        (Get-ResultMessage -Result $run.Result -Text 'Several connectors are installed') | Should -HaveCount 1
        @($run.Result.actions) | Should -HaveCount 0
    }

    It 'lists every step and performs none under -WhatIf' {
        $install = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"companyId":"{0}","token":"{1}"}}' -f $companyId, $secret)
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books' -State 'Running'
        $null = Add-FakeProcess -Machine $machine -Name 'QuickbooksDesktopUI.exe' -ExecutablePath (Join-Path -Path $install -ChildPath 'QuickbooksDesktopUI.exe') -User 'alice'
        $null = Add-FakeUninstallEntry -Machine $machine -KeyName 'Acme Books QuickBooks Connector' -Values @{
            DisplayName          = 'Acme Books QuickBooks Connector'
            DisplayVersion       = '2.4.1'
            Publisher            = 'Codat'
            InstallLocation      = $install
            UninstallString      = ('"{0}\unins000.exe"' -f $install)
            QuietUninstallString = ('"{0}\unins000.exe" /VERYSILENT /NORESTART' -f $install)
        }
        $before = Get-FakeTree -Root $machine.Root
        # Upper case and braces: the script compares Company IDs in one canonical form.
        $given = '{' + $companyId.ToUpperInvariant() + '}'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; CompanyId = $given; Installer = $installer; WhatIf = $true }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $run.ExitCode | Should -Be 0
        $run.Result.data.what_if | Should -BeTrue
        $run.Result.data.company_id | Should -Be $companyId
        $run.Result.data.installer_user | Should -Be 'PC\alice'
        @($run.Result.data.uninstall) | Should -HaveCount 1
        $run.Result.data.uninstall[0].kind | Should -Be 'quiet'
        (Get-ResultCheck -Result $run.Result -Name 'company-id')[0].passed | Should -BeTrue
        foreach ($step in @('Back up', 'Stop scheduled task', 'Uninstall (quiet uninstaller)', 'Start the connector installer')) {
            $actions = @(Get-ResultAction -Result $run.Result -Text $step)
            $actions.Count | Should -BeGreaterThan 0 -Because ('{0} should be listed' -f $step)
        }
        @($run.Result.actions | Where-Object { $_.performed }) | Should -HaveCount 0
        (Get-ResultMessage -Result $run.Result -Text 'WhatIf: nothing was changed') | Should -HaveCount 1
        (Get-ResultMessage -Result $run.Result -Text ('SAME Company ID: {0}' -f $companyId)) | Should -HaveCount 1
        $run.Json | Should -Not -BeLike ('*{0}*' -f $secret)
        Should -Invoke -CommandName Start-Process -Times 0 -Exactly
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
        Should -Invoke -CommandName Stop-ScheduledTask -Times 0 -Exactly
        Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        Should -Invoke -CommandName Invoke-WebRequest -Times 0 -Exactly
        Test-Path -LiteralPath $backups | Should -BeFalse
        (Get-FakeTree -Root $machine.Root) -join [Environment]::NewLine | Should -Be ($before -join [Environment]::NewLine)
    }

    It 'lists ending the tray app whose program is in the connector folder under -WhatIf' {
        Skip-OffWindows -Because 'reinstall-connector tests "is this program under the connector folder" as text ending in \'
        $install = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"companyId":"{0}"}}' -f $companyId)
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books' -State 'Running'
        $tray = Add-FakeProcess -Machine $machine -Name 'QuickbooksDesktopUI.exe' -ExecutablePath (Join-Path -Path $install -ChildPath 'QuickbooksDesktopUI.exe') -User 'alice'
        $null = Add-FakeProcess -Machine $machine -Name 'QuickbooksDesktopUI.exe' -ExecutablePath 'C:\Program Files (x86)\Other Client\QuickBooks-connector\QuickbooksDesktopUI.exe' -User 'alice'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; CompanyId = $companyId; Installer = $installer; WhatIf = $true }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $ends = @(Get-ResultAction -Result $run.Result -Text 'End process')
        $ends | Should -HaveCount 1
        $ends[0].description | Should -BeLike ('*{0}*' -f $tray.ProcessId)
        $ends[0].performed | Should -BeFalse
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
    }
}
